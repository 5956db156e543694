import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/format.js";

describe("formatBytes: the one formatter of byte sizes (monitor and CLI)", () => {
  it.each([
    [0, "0 bytes"],
    [512, "512 bytes"],
    [1024, "1 KiB"],
    [6000, "5.9 KiB"],
    [128 * 1024 * 1024, "128 MiB"],
    [1.5 * 1024 ** 3, "1.5 GiB"],
    [2 ** 31, "2 GiB"],
  ])("%d bytes reads %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
