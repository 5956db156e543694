// Prints `tests: N passed, N failed` from vitest's JSON report: the one line CI reads.
import { existsSync, readFileSync } from "node:fs";

const file = process.argv[2] ?? ".vitest-report.json";
if (!existsSync(file)) {
  console.log("tests: 0 passed, 1 failed");
  console.error(`count-tests: ${file} is missing: vitest did not finish`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, "utf8"));
const passed = report.numPassedTests ?? 0;
const failed =
  (report.numFailedTests ?? 0) + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
