import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@amber/source"] },
  test: { name: "@amber/isa", include: ["test/**/*.test.ts"] },
});
