import { defineProject } from "vitest/config";

// Tests run on TypeScript sources: workspace packages resolve through "@amber/source".
const SOURCE_CONDITIONS = ["@amber/source", "import", "module", "node", "default"];

export default defineProject({
  resolve: { conditions: SOURCE_CONDITIONS },
  ssr: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: SOURCE_CONDITIONS } },
  test: { name: "web", include: ["test/**/*.test.ts"] },
});
