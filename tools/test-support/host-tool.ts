import { spawnSync } from "node:child_process";

/**
 * Whether a real host tool (qemu-img, dtc, tmux, chromium, gdb-multiarch, …) can be used by a
 * test. Locally a missing tool lets its tests skip; under CI (`CI=true`) it does not: the
 * tests run and fail, because `.ci/run` installs every tool the suite uses.
 */
export function hostTool(command: string, versionArgs: string[] = ["--version"]): boolean {
  if (spawnSync(command, versionArgs, { stdio: "ignore" }).status === 0) return true;
  return process.env.CI === "true";
}
