import { defineConfig } from "vitest/config";

// Tests run on TypeScript sources: workspace packages resolve through "@amber/source".
const SOURCE_CONDITIONS = ["@amber/source", "import", "module", "node", "default"];

// One vitest process runs every workspace project, always on TypeScript sources:
// the "@amber/source" export condition points each package at src/, never dist/.
export default defineConfig({
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: SOURCE_CONDITIONS } },
  test: {
    projects: ["packages/*", "apps/*"],
    reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
  },
});
