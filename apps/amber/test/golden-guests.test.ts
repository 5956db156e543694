import { describe, expect, it } from "vitest";
import { guests } from "./guests.js";
import { runCli } from "./run-cli.js";

// The CPU-heavy benchmark takes seconds; its short variant covers the same code.
const all = guests(({ name }) => name !== "bench");

describe("every guest prints what it prints on QEMU and exits the same way", () => {
  it("has guests to run", () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it.each(all.map((g) => [`${g.march}/${g.name}`, g] as const))("%s", (_label, g) => {
    const r = runCli(["run", g.elf]);
    expect(r.stdout).toBe(g.expectedStdout.toString()); // readable diff first
    expect(Buffer.from(r.stdoutBytes).equals(g.expectedStdout)).toBe(true);
    expect(r.status).toBe(g.expectedExit);
  });
});
