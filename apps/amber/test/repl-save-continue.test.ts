import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { openCheckpoint, writeCheckpointFile } from "@amber/checkpoint/node";
import { initCodecs } from "@amber/compress";
import { Machine, SECTION_SPECS } from "@amber/machine";
import {
  CONSOLE_SECTION,
  ConsoleIo,
  diffImages,
  type MonitorHost,
  saveWorldAs,
  WorldSession,
} from "@amber/monitor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MachineDirectory } from "../src/repl/machine-directory.js";
import { NodeWorldStore } from "../src/repl/node-world-store.js";
import { VERSION } from "../src/version.js";

const LISP = fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url));
const DEFINE = "(define (loop n acc) (if (= n 0) acc (loop (- n 1) (+ acc 1))))";
let tmp: string;
beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
  tmp = mkdtempSync(join(tmpdir(), "amber-repl-save-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function boot(dirName = "machine"): { session: WorldSession; io: ConsoleIo; output: () => string } {
  let text = "";
  let session: WorldSession | undefined;
  const io = new ConsoleIo((data) => {
    text += new TextDecoder().decode(data);
    session?.noteOutput(data);
  });
  const machine = new Machine({ io });
  machine.loadElf(readFileSync(LISP), "lisp.elf");
  let dir: MachineDirectory | undefined;
  const root = join(tmp, dirName);
  const store = new NodeWorldStore((create) => {
    if (dir === undefined && create) dir = MachineDirectory.create(root, undefined, machine.ram.size);
    return dir;
  }, root);
  const events = { idle: () => {}, stopped: () => {}, exited: () => {} };
  session = new WorldSession(machine, io, events, true, store);
  return { session, io, output: () => text };
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
};

describe("save-and-continue in the REPL", () => {
  it("a world saved while the guest computes is exactly the machine at the save instant", async () => {
    const { session, output } = boot();
    session.start();
    await session.settled();
    session.sendLine(DEFINE);
    await session.settled();
    session.sendLine("(loop 400000 0)");
    // Let the computation get going, then save while it runs.
    await until(() => session.machine.hart.steps > 2_000_000);
    expect(session.state).toBe("running");
    const report = session.save("mid", { full: true });
    const file = report.location;
    const after = session.machine.hart.steps;
    expect(after).toBeGreaterThan(report.steps); // the guest ran on while the image was written
    await report.persisted; // on disk, in place (the guest may run on meanwhile)
    await session.settled();
    expect(output()).toMatch(/400000\nlisp> $/);
    session.close();

    // The same world stopped at that very instruction and saved stopped: the same image.
    const ref = boot();
    ref.session.start();
    await ref.session.settled();
    ref.session.sendLine(DEFINE);
    await ref.session.settled();
    ref.session.pause();
    ref.io.push("(loop 400000 0)\n");
    const m = ref.session.machine;
    expect(m.run(report.steps - m.hart.steps).kind).toBe("budget");
    const save = m.beginSave({ name: "amber", version: VERSION });
    const input = {
      ...save.input,
      sections: [
        ...save.input.sections,
        { name: CONSOLE_SECTION, version: 1, minVersion: 1, fields: { tail: ref.session.consoleTail } },
      ],
    };
    const stopped = writeCheckpointFile(join(tmp, "stopped.amber"), input);
    save.end();
    const a = openCheckpoint(file, { sections: SECTION_SPECS });
    const b = openCheckpoint(join(tmp, "stopped.amber"), { sections: SECTION_SPECS });
    expect(diffImages(a, b)).toMatchObject({ identical: true });
    expect(a.digest).toBe(stopped.digest);
    a.close();
    b.close();
  });

  it("a save asked for while another is being made durable waits for it, and is incremental on it", async () => {
    const { session } = boot("queued");
    session.start();
    await session.settled();
    session.sendLine(DEFINE);
    await session.settled();
    const said: string[] = [];
    const host = {
      session,
      out: () => {},
      say: (text: string) => said.push(text),
      confirm: async () => false,
      progress: () => ({ update: () => {}, stop: () => {} }),
      quit: () => {},
    } satisfies MonitorHost;
    // Both asked for at once (as the guest's save-world during a :save): the machine takes
    // one save at a time, so the second waits until the first is durable.
    await Promise.all([saveWorldAs(host, "one"), saveWorldAs(host, "two")]);
    expect(said).toHaveLength(2);
    const [first, second] = said.map((l) => /^saved (\w+) \(([^)]*)\)/.exec(l)!.slice(1));
    expect(first![1]).toBe("full");
    expect(second![1]).toBe(`incremental on ${first![0]}`);
    const child = openCheckpoint(join(tmp, "queued", "worlds", `${second![0]}.amber`), {
      sections: SECTION_SPECS,
    });
    const parent = openCheckpoint(join(tmp, "queued", "worlds", `${first![0]}.amber`));
    expect(child.parent?.digest).toBe(parent.digest);
    child.verify();
    child.close();
    parent.close();
    session.close();
  });
});
