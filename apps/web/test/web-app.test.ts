import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { SECTION_SPECS } from "@amber/machine";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { replScript } from "../../amber/test/repl-script.js";
// @ts-expect-error: a plain .mjs script without types
import { buildWeb } from "../build.mjs";
// @ts-expect-error: a plain .mjs script without types
import { serve } from "../serve.mjs";
import { CHROMIUM, launchChromium } from "./support/chromium.js";
import { monitor, monitorShows, terminalShows, typeLine } from "./support/page.js";

/** Screenshots for people to look at, kept by CI (gitignored; named in the root README). */
const ARTIFACTS = join(import.meta.dirname, "../../../artifacts/web");

let tmp: string;
let server: Server;
let url: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

/** The digest of an image file, as the CLI reads it. */
function digestOf(file: string): { digest: string; instructions: bigint } {
  const r = openCheckpoint(file, { sections: SECTION_SPECS });
  try {
    return { digest: r.digest, instructions: r.header.instructionCount };
  } finally {
    r.close();
  }
}

describe.runIf(hostTool(CHROMIUM))("the web app in Debian's Chromium", () => {
  beforeAll(async () => {
    await initCodecs();
    await initCheckpoint();
    tmp = mkdtempSync(join(tmpdir(), "amber-web-"));
    mkdirSync(ARTIFACTS, { recursive: true });
    const dist = await buildWeb(join(tmp, "dist"));
    ({ server, url } = await serve({ root: dist, mounts: { "/cli": join(tmp, "cli") } }));
    browser = await launchChromium();
    page = await browser.context.newPage();
    // :restore asks before it discards unsaved work: say yes, as a person would.
    page.on("dialog", (d) => void d.accept());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it("Lisp: define, save, reload, restore, call; the downloaded world resumes in the CLI to the same answer and digest", async () => {
    await page.goto(url);
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await typeLine(page, "(define (square x) (* x x))");
    await terminalShows(page, "\nsquare\n");
    await monitor(page, ":save first");
    await monitorShows(page, /saved first \(full\): .* → opfs:\/machines\/lisp\/first\.amber/);

    // A reload starts a new page and worker: the world must come back from OPFS.
    await page.reload();
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await typeLine(page, ":restore first");
    const restored = await monitorShows(page, /restored first at instruction ([\d,]+)/);
    await typeLine(page, "(square 12)");
    await terminalShows(page, "\n144\n");
    await page.screenshot({ path: join(ARTIFACTS, "lisp.png") });

    // An incremental save, downloaded: squashed with its parent into one .amber file.
    await monitor(page, ":save second");
    await monitorShows(page, /saved second \(incremental on first\)/);
    await monitor(page, ":saves");
    await monitorShows(page, /\* second .* on first/);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const file = join(tmp, "second.amber");
    await download.saveAs(file);
    const [, bytes, digest] = await monitorShows(
      page,
      /downloaded second\.amber: (\d+) bytes, digest ([0-9a-f]{64})/,
    );
    expect(readFileSync(file).length).toBe(Number(bytes));
    expect(digestOf(file).digest).toBe(digest);

    // The same continuation in the page and in the CLI.
    await typeLine(page, "(square (square 7))");
    await terminalShows(page, "\n2401\n");
    const cli = await replScript([file, "--dir", join(tmp, "from-web")], "(square (square 7))\n");
    expect(cli.stderr).toMatch(/resuming second at instruction/);
    expect(cli.stdout).toContain("2401");
    expect(Number(restored[1]!.replace(/,/g, ""))).toBeLessThan(Number(digestOf(file).instructions));
  }, 600_000);

  it("with IndexedDB instead of OPFS (the fallback), a world survives a reload the same way", async () => {
    await page.goto(`${url}?storage=indexeddb`);
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await typeLine(page, "(define (inc x) (+ x 1))");
    await terminalShows(page, "\ninc\n");
    await monitor(page, ":save kept");
    await monitorShows(page, /saved kept \(full\): .* → indexeddb:lisp\/kept\.amber/);
    await page.reload();
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await monitor(page, ":restore kept");
    await monitorShows(page, /restored kept at instruction/);
    await typeLine(page, "(inc 41)");
    await terminalShows(page, "\n42\n");
  }, 300_000);

  it("Lisp's (save-world NAME) saves into the page's store; restored after a reload, the same call answers #t", async () => {
    await page.goto(url);
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await typeLine(page, "(define n 6)");
    await terminalShows(page, "\nn\n");
    await typeLine(page, '(if (save-world "snap") (quote resumed) (quote saved))');
    await monitorShows(
      page,
      /saved snap \(the guest's save-world\) \(full\): .* → opfs:\/machines\/lisp\/snap\.amber/,
    );
    await terminalShows(page, "\nsaved\nlisp> ");
    await monitor(page, ":saves");
    await monitorShows(page, /\* snap /);
    await page.reload();
    await page.click("#boot-lisp");
    await terminalShows(page, "lisp> ");
    await monitor(page, ":restore snap");
    await monitorShows(page, /restored snap at instruction/);
    await terminalShows(page, "resumed\nlisp> ");
    await typeLine(page, "(* n 7)");
    await terminalShows(page, "\n42\n");
  }, 300_000);

  it("a world saved by the CLI opens in the page from a file and from ?image=URL (read lazily), same digest and answer", async () => {
    const cliDir = join(tmp, "cli");
    const saved = await replScript(["--dir", cliDir], "(define (cube x) (* x x x))\n:save cli\n");
    expect(saved.stderr).toMatch(/saved cli \(full\)/);
    const world = join(cliDir, "worlds/cli.amber");
    const { digest } = digestOf(world);
    const cliAnswer = await replScript([world, "--dir", join(tmp, "cli-again")], "(cube 4)\n");
    expect(cliAnswer.stdout).toContain("64");

    await page.goto(url);
    await page.setInputFiles("#open-file", world);
    await monitorShows(
      page,
      new RegExp(`resuming cli\\.amber at instruction [\\d,]+ \\(digest ${digest}\\)`),
    );
    await terminalShows(page, "lisp> ");
    await typeLine(page, "(cube 4)");
    await terminalShows(page, "\n64\n");

    await page.goto(`${url}?image=/cli/worlds/cli.amber`);
    await monitorShows(page, new RegExp(`read lazily with HTTP Range\\) \\(digest ${digest}\\)`));
    await terminalShows(page, "lisp> ");
    await typeLine(page, "(cube 4)");
    await terminalShows(page, "\n64\n");
    // The worker reports its status between slices: wait for the report, never a fixed time.
    await page.waitForFunction(
      () => /URL: lazy, \d+ requests/.test(document.querySelector("#status")?.textContent ?? ""),
      undefined,
      { timeout: 120_000 },
    );
  }, 600_000);

  it("Linux (MMU kernel under the project's firmware) boots to its prompt in the page and runs a command", async () => {
    await page.goto(url);
    await page.click("#boot-linux");
    // The whole boot runs in the worker: minutes on a loaded machine.
    await terminalShows(page, "amber# ", 900_000);
    await typeLine(page, "uname");
    await terminalShows(page, "Linux 6.1.192");
    await terminalShows(page, "riscv32");
    await page.screenshot({ path: join(ARTIFACTS, "linux.png") });
  }, 1_000_000);
});
