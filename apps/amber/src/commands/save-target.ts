import { closeSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ExitCode } from "../exit-codes.js";
import { UserError } from "../user-error.js";

/**
 * Checks, before anything runs, that a save can be written where `--save-to` names (as
 * the user wrote it): not onto a directory, into a directory that exists and takes a new
 * file (a probe file is created and removed: permissions, read-only mounts and full
 * quotas all show). A failure is a one-line error (exit 125) naming the user's path, not
 * minutes later at the save point and not the temporary file's name.
 */
export function checkSaveDestination(option: string, target: string): void {
  const fail = (why: string): never => {
    throw new UserError(`${option} ${target}: ${why}`, ExitCode.Failure);
  };
  try {
    if (statSync(target).isDirectory()) fail("is a directory (give a file name in it)");
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") fail(`${dirname(target)} is not a directory`);
    if (code !== "ENOENT") fail(`cannot use: ${(e as Error).message}`);
  }
  const dir = dirname(resolve(target));
  try {
    if (!statSync(dir).isDirectory()) fail(`${dirname(target)} is not a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(`no such directory ${dirname(target)}`);
  }
  const probe = join(dir, `.amber-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EROFS"
          ? "read-only file system"
          : code === "ENOSPC"
            ? "no space left"
            : (e as Error).message;
    fail(`cannot write in ${dirname(target)}: ${why}`);
  }
}
