import { describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { isInterleaving, lines } from "./interleaving.js";
import { runCli } from "./run-cli.js";

// The CPU-heavy benchmarks take seconds (bench-paged runs interpreted under Sv32); bench-short
// runs the same code, priv-paging covers paging.
// disk needs a disk attached (--disk): its end-to-end test is apps/amber/test/image-cli.test.ts;
// virtio-irq too: packages/machine/test/virtio-blk.test.ts runs it;
// disk-console also reads commands on its console: apps/amber/test/repl-disks.test.ts; args
// prints the arguments QEMU gave it: apps/amber/test/world-bundle.test.ts.
// touch is run with the argument QEMU got (tools/guests/build.sh's QEMU_SEMIHOST_ARGS).
const ARGS: Record<string, string[]> = { touch: ["2"] };
const all = guests(
  ({ name }) =>
    name !== "bench" &&
    name !== "bench-paged" &&
    name !== "disk" &&
    name !== "virtio-irq" &&
    name !== "disk-console" &&
    name !== "args",
);

describe("every guest prints what it prints on QEMU and exits the same way", () => {
  it("has guests to run", () => {
    expect(all.length).toBeGreaterThan(40);
  });

  it.each(all.map((g) => [`${g.march}/${g.name}`, g] as const))("%s", (_label, g) => {
    const r = runCli(["run", g.elf, ...(ARGS[g.name] ?? [])]);
    if (g.expectedHostStdout === undefined) {
      expect(r.stdout).toBe(g.expectedStdout.toString()); // a readable diff first
      expect(Buffer.from(r.stdoutBytes).equals(g.expectedStdout)).toBe(true);
    } else {
      const console = lines(g.expectedStdout.toString("latin1"));
      const host = lines(g.expectedHostStdout.toString("latin1"));
      const actual = lines(Buffer.from(r.stdoutBytes).toString("latin1"));
      expect(isInterleaving(actual, console, host), `stdout:\n${r.stdout}`).toBe(true);
    }
    expect(r.status).toBe(g.expectedExit);
  });
});
