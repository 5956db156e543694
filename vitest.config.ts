import { defineConfig } from "vitest/config";

// One vitest process runs every workspace project, always on TypeScript sources:
// the "@amber/source" export condition points each package at src/, never dist/.
export default defineConfig({
  resolve: { conditions: ["@amber/source"] },
  test: {
    projects: ["packages/*", "apps/*"],
    reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
  },
});
