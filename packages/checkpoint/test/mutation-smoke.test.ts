import { initCodecs } from "@amber/compress";
import "@amber/image/node";
import { beforeAll, describe, expect, test } from "vitest";
import { TARGETS } from "../../../tools/fuzz/targets.js";
import { initCheckpoint } from "../src/index.js";

// The CI smoke run of the mutation fuzzer (tools/fuzz/fuzz.mjs runs the long one): a few
// hundred mutated cases per target, from fixed seeds, so a finding reproduces with
// `node tools/fuzz/fuzz.mjs --target NAME --replay SEED`.
const CASES = Number(process.env.AMBER_SMOKE_CASES ?? 400);

beforeAll(async () => {
  await initCodecs();
  await initCheckpoint();
});

// Generous per-target timeout: the work per case is bounded by the file's size, not by a clock.
const TIMEOUT_MS = 120_000;

describe("mutation smoke: damaged images give the library's own error or read back", () => {
  for (const target of TARGETS) {
    test(`${target.name}: ${CASES} mutated cases`, { timeout: TIMEOUT_MS }, () => {
      const findings: string[] = [];
      for (let seed = 1; seed <= CASES; seed++) {
        try {
          target.run(seed);
        } catch (e) {
          findings.push(`seed ${seed}: ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
      expect(findings).toEqual([]);
    });
  }
});
