import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@amber/source"] },
  test: { name: "amber", include: ["test/**/*.test.ts"], testTimeout: 60_000 },
});
