import { describe, expect, it } from "vitest";
import { isRegistryError, looksLikeRef, parseRef, refReference } from "../src/index.js";

describe("REF parsing", () => {
  it("reads HOST[:PORT]/REPO[:TAG|@DIGEST] with an optional scheme", () => {
    const d = `sha256:${"ab".repeat(32)}`;
    expect(parseRef("registry.example.com/team/lisp:v1")).toMatchObject({
      scheme: "https",
      host: "registry.example.com",
      repository: "team/lisp",
      tag: "v1",
    });
    expect(parseRef(`http://127.0.0.1:5000/lisp@${d}`)).toMatchObject({
      scheme: "http",
      host: "127.0.0.1:5000",
      repository: "lisp",
      digest: d,
    });
    expect(parseRef("localhost:5000/a/b", { insecure: true })).toMatchObject({
      scheme: "http",
      tag: undefined,
    });
    expect(refReference(parseRef("example.com/x"))).toBe("latest");
    expect(refReference(parseRef(`example.com/x:t@${d}`))).toBe(d);
  });

  it("refuses plain HTTP beyond loopback and malformed parts, in one line naming the REF", () => {
    for (const [text, why] of [
      ["http://example.com/x:1", /plain HTTP is only allowed to localhost/],
      ["example.com/Upper:1", /not a repository/],
      ["example.com/x:bad tag", /not a tag/],
      ["example.com/x@sha256:12", /not sha256: and 64/],
      ["example.com:99999/x", /port 99999/],
      ["nohost", /no HOST/],
    ] as const) {
      let caught: unknown;
      try {
        parseRef(text);
      } catch (e) {
        caught = e;
      }
      expect(isRegistryError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(why);
      expect((caught as Error).message.startsWith(text)).toBe(true);
      expect((caught as Error).message).not.toContain("\n");
    }
    expect(() => parseRef("example.com/x", { insecure: true })).toThrow(/plain HTTP/);
  });

  it("tells REFs from paths as Docker does: a first component with a dot, a port or localhost", () => {
    expect(looksLikeRef("127.0.0.1:5000/lisp:v1")).toBe(true);
    expect(looksLikeRef("localhost/lisp")).toBe(true);
    expect(looksLikeRef("https://r.example/x")).toBe(true);
    expect(looksLikeRef("worlds/first.amber")).toBe(false);
    expect(looksLikeRef("first.amber")).toBe(false);
    expect(looksLikeRef("./worlds/a.amber")).toBe(false);
    expect(looksLikeRef("../a.amber")).toBe(false);
  });
});
