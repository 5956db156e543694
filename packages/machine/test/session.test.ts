import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Session, SessionError } from "../src/index.js";

// The project's Lisp (tools/guests/lisp): prints a banner and "lisp> ", reads lines over the UART.
const ELF = readFileSync(fileURLToPath(new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url)));
const PROMPT = "lisp> ";

/** Types a line and returns what the Lisp printed before its next prompt. */
async function evaluate(s: Session, line: string): Promise<string> {
  s.type(`${line}\n`);
  return (await s.expect(PROMPT)).before;
}

describe("Session (snapshot programming)", { timeout: 60_000 }, () => {
  it("boots, expects, types, saves and restores a world", async () => {
    const s = await Session.boot({ elf: ELF, name: "lisp" });
    const banner = await s.expect(PROMPT);
    expect(banner.before).toBe("Amber Lisp 1.0 \u2014 (exit 0) to power off\n");
    expect(await evaluate(s, "(define x 5)")).toBe("x\n");
    const saved = s.save("x5");
    expect(saved.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(saved.instructions).toBe(s.instructions);
    expect(await evaluate(s, "(set! x (* x 2))")).toBe("");
    expect(await evaluate(s, "x")).toBe("10\n");
    // Back to x = 5, as often as wanted, each time with the output and instructions of then.
    for (const [line, answer] of [
      ["(+ x 1)", "6\n"],
      ["(* x x)", "25\n"],
    ] as const) {
      s.restore("x5");
      expect(s.instructions).toBe(saved.instructions);
      expect(await evaluate(s, line)).toBe(answer);
    }
    // A RegExp with groups; exit status through expectExit.
    s.type("(list x 7)\n");
    const m = await s.expect(/\((\d+) (\d+)\)\n/);
    expect(m.groups).toEqual(["5", "7"]);
    s.type("(exit 3)\n");
    expect(await s.expectExit()).toBe(3);
    s.close();
  });

  it("is deterministic: the same script gives the same instruction counts and output", async () => {
    const run = async () => {
      const s = await Session.boot({ elf: ELF });
      await s.expect(PROMPT);
      const counts = [s.instructions];
      for (const line of ["(define (f n) (if (< n 2) n (+ (f (- n 1)) (f (- n 2)))))", "(f 10)"]) {
        await evaluate(s, line);
        counts.push(s.instructions);
      }
      return { counts, transcript: s.transcript };
    };
    const a = await run();
    expect(a.transcript).toContain("55\n");
    expect(await run()).toEqual(a);
  });

  it("resumes a world from an image's bytes, with the console output it still owed", async () => {
    const s = await Session.boot({ elf: ELF });
    await s.expect(PROMPT);
    const { image } = s.image();
    const resumed = await Session.resume(image, { pending: "not yet matched: " });
    resumed.type("(+ 40 2)\n");
    expect((await resumed.expect("42\n")).before).toBe("not yet matched: ");
  });

  it("fails in one line, naming what it waited for, when it cannot appear", async () => {
    const s = await Session.boot({ elf: ELF, name: "lisp" });
    await s.expect(PROMPT);
    // The Lisp waits for input: nothing more can come without typing.
    await expect(s.expect("never")).rejects.toThrow(
      /^lisp: the guest waits for input and "never" has not appeared \(type something first\); last output "Amber Lisp/,
    );
    s.type("(define (loop) (loop))\n(loop)\n");
    await expect(s.expect("done", { timeout: 2_000_000 })).rejects.toThrow(
      'lisp: "done" did not appear within 2000000 instructions',
    );
    expect(() => s.restore("nothing")).toThrow(SessionError);
    await expect(s.fork(2)).rejects.toThrow(/fork needs worker threads/);
  });
});
