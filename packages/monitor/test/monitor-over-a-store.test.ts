import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initCheckpoint } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { Machine } from "@amber/machine";
import { beforeAll, describe, expect, it } from "vitest";
import { ConsoleIo, FilesWorldStore, MemoryWorldFiles, MonitorError, WorldSession } from "../src/index.js";
import { stringMonitor } from "./string-monitor.js";

const LISP = fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url));

beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
});

/** A Lisp world whose monitor talks into strings, its worlds kept in memory files. */
function lispWorld(files = new MemoryWorldFiles()) {
  let console = "";
  let session: WorldSession | undefined;
  const io = new ConsoleIo((data) => {
    console += session!.noteOutput(data);
  });
  const machine = new Machine({ io });
  machine.loadElf(readFileSync(LISP), "lisp.elf");
  const store = new FilesWorldStore(files, { name: "amber-test", version: "0" });
  session = new WorldSession(
    machine,
    io,
    { idle: () => {}, stopped: () => {}, exited: () => {} },
    true,
    store,
  );
  let answer = true;
  const monitor = stringMonitor(session, () => answer);
  return {
    session,
    files,
    store,
    monitor,
    async type(line: string): Promise<string> {
      const from = console.length;
      session.sendLine(line);
      await session.settled();
      return console.slice(from);
    },
    answer(yes: boolean) {
      answer = yes;
    },
  };
}

describe("the monitor over a world store (no file system)", () => {
  it("saves, lists, diffs and restores worlds kept in memory files, incrementally", async () => {
    const w = lispWorld();
    w.session.start();
    await w.session.settled();
    expect(await w.type("(define (square x) (* x x))")).toContain("square");
    expect(await w.monitor(":save first")).toMatch(/saved first \(full\): .* → memory:first\.amber/);
    await w.type("(define (cube x) (* x (square x)))");
    expect(await w.monitor(":save second")).toMatch(/saved second \(incremental on first\)/);
    const listing = await w.monitor(":saves");
    expect(listing).toMatch(/ {2}first .*\(full\)/);
    expect(listing).toMatch(/\* second .*on first/);
    expect(await w.monitor(":diff second first")).toMatch(/page/);
    expect(await w.monitor(":regs")).toMatch(/pc [0-9a-f]{8}/);
    expect(await w.monitor(":stats")).toMatch(/instructions/);
    // Restoring first forgets cube but keeps square; second still has both.
    expect(await w.monitor(":restore first")).toMatch(/restored first at instruction/);
    expect(await w.type("(square 12)")).toContain("144");
    expect(await w.type("(cube 3)")).not.toContain("27");
    await w.monitor(":restore second");
    expect(await w.type("(cube 3)")).toContain("27");
    expect(await w.store.current()).toBe("second");
    w.session.close();
  });

  it("a second session on the same files resumes the incremental world with the same digest", async () => {
    const w = lispWorld();
    w.session.start();
    await w.session.settled();
    await w.type("(define (twice x) (+ x x))");
    await w.monitor(":save a");
    await w.type("(define k 21)");
    await w.monitor(":save b");
    const b = (await w.store.list()).find((x) => x.name === "b");
    w.session.close();

    const again = lispWorld(w.files);
    const ref = (await again.store.find("b"))!;
    const reader = await again.store.open(ref);
    expect(reader.digest).toBe(b && "digest" in b ? b.digest : "");
    await again.session.restore(ref);
    expect(await again.type("(twice k)")).toContain("42");
    again.session.close();
  });

  it("the first save of a world opened from elsewhere (a URL) is full: its parent is not in the store", async () => {
    const w = lispWorld();
    w.session.start();
    await w.session.settled();
    await w.type("(define z 7)");
    await w.monitor(":save there");
    w.session.close();

    // The same image, as if read from a URL, resumed over an empty store.
    const elsewhere = lispWorld();
    const reader = await w.store.open((await w.store.find("there"))!);
    const ref = { name: "there", location: "https://example.test/there.amber" };
    let out = "";
    const io = new ConsoleIo((d) => {
      out += session.noteOutput(d);
    });
    const events = { idle: () => {}, stopped: () => {}, exited: () => {} };
    const session = WorldSession.resume(reader, ref, io, events, true, elsewhere.store);
    session.start();
    await session.settled();
    const report = session.save("here");
    await report.persisted;
    expect(report.parent).toBeUndefined();
    session.sendLine("(* z 6)");
    await session.settled();
    expect(out).toContain("42");
    session.close();
    const again = await elsewhere.store.open((await elsewhere.store.find("here"))!);
    expect(again.header.parentHint).toBe("");
    again.close();
  });

  it("refuses bad names and unknown worlds with one line", async () => {
    const w = lispWorld();
    await expect(w.monitor(":save ../x")).rejects.toThrow(MonitorError);
    await expect(w.monitor(":restore nothing")).rejects.toThrow(/no world "nothing" \(none saved yet/);
    await expect(w.monitor(":bogus")).rejects.toThrow(/no monitor command :bogus/);
    w.session.close();
  });
});
