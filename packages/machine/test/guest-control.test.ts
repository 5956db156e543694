import { describe, expect, it } from "vitest";
import { CONTROL_ESCAPE, ControlCode, ControlFilter } from "../src/session/guest-control.js";

const E = CONTROL_ESCAPE;

describe("the console's control channel", () => {
  it("takes control lines out of the output however the bytes are split, and keeps the rest in order", () => {
    const output = `lisp> ${E}amber save-world w\n#f\nlisp> ${E}amber compacted cells=12 moved=3\n`;
    for (let size = 1; size <= output.length; size++) {
      const filter = new ControlFilter();
      let shown = "";
      const messages: string[] = [];
      for (let i = 0; i < output.length; i += size) {
        const r = filter.filter(output.slice(i, i + size));
        shown += r.shown;
        messages.push(...r.messages);
      }
      expect(shown).toBe("lisp> #f\nlisp> ");
      expect(messages).toEqual(["save-world w", "compacted cells=12 moved=3"]);
    }
  });

  it("shows an escape byte that does not start a control line as it came", () => {
    const filter = new ControlFilter();
    const a = filter.filter(`x${E}[1mbold\n`);
    expect(a).toEqual({ shown: `x${E}[1mbold\n`, messages: [] });
    expect(filter.touched).toBe(true);
    const b = filter.filter("plain");
    expect(b.shown).toBe("plain");
    expect(filter.touched).toBe(false);
  });

  it("answers save-world on one line: a refusal's message loses its line ends", () => {
    expect(ControlCode.refused("no\nway")).toBe(`${E}eno way\n`);
    expect([ControlCode.compact, ControlCode.saved, ControlCode.resumed]).toEqual([
      `${E}c`,
      `${E}s`,
      `${E}r`,
    ]);
  });
});
