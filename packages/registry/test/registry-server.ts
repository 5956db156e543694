import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1, a free port and a
 * temporary storage directory; `auth` adds htpasswd Basic auth for that user.
 */
export class TestRegistry {
  private child: ChildProcess | undefined;
  readonly root: string;
  readonly storage: string;
  port = 0;

  constructor(readonly auth?: { user: string; password: string }) {
    this.root = mkdtempSync(join(tmpdir(), "amber-registry-"));
    this.storage = join(this.root, "storage");
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and storage) and waits until /v2/ answers. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    mkdirSync(this.storage, { recursive: true });
    let auth = "";
    if (this.auth) {
      const line = spawnSync("htpasswd", ["-Bbn", this.auth.user, this.auth.password], { encoding: "utf8" });
      if (line.status !== 0) throw new Error(`htpasswd failed: ${line.stderr}`);
      writeFileSync(join(this.root, "htpasswd"), line.stdout);
      auth = `auth:\n  htpasswd:\n    realm: amber-test\n    path: ${join(this.root, "htpasswd")}\n`;
    }
    const config = join(this.root, "config.yml");
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${this.storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${this.port}\n${auth}`,
    );
    this.child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    this.child.stderr!.on("data", (d) => {
      log += d;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`docker-registry exited: ${log}`);
      try {
        const res = await fetch(`http://${this.host}/v2/`);
        if (res.status === 200 || res.status === 401) return;
      } catch {}
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${this.host}: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills the registry at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
    this.child = undefined;
  }

  /** Kills the registry now, without waiting (for process exit handlers). */
  killNow(): void {
    this.child?.kill("SIGKILL");
  }

  /** Bytes of blob data the registry stores (its `blobs/` directory). */
  blobBytes(): number {
    const dir = join(this.storage, "docker/registry/v2/blobs");
    let n = 0;
    const walk = (d: string) => {
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        return;
      }
      for (const name of names) {
        const p = join(d, name);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else n += st.size;
      }
    };
    walk(dir);
    return n;
  }

  /** The file holding blob `digest` on the registry's disk. */
  blobFile(digest: string): string {
    const hex = digest.slice("sha256:".length);
    return join(this.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.root, { recursive: true, force: true });
  }
}
