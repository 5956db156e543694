import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@amber/source"] },
  test: { name: "@amber/machine", include: ["test/**/*.test.ts"] },
});
