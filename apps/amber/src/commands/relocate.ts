import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckpointReader } from "@amber/checkpoint";
import { openCheckpoint, relocateCheckpoint } from "@amber/checkpoint/node";
import { type CheckpointDisk, diskFingerprint, Machine, SECTION_SPECS } from "@amber/machine";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { MachineDirectory } from "../repl/machine-directory.js";
import { UserError } from "../user-error.js";
import { checkpointFailure } from "./checkpoint-open.js";
import { type ResolvedReference, referenceFound, resolveReference } from "./disk-references.js";
import { openDisks } from "./image-disks.js";

/** One `--path OLD=NEW`. */
interface PathRule {
  text: string;
  old: string;
  new: string;
}

/** What one disk reference of a world comes to: found and the same disk, missing, or another disk. */
interface DiskCheck {
  slot: number;
  reference: string;
  file: string;
  state: "ok" | "missing" | "other-content";
  detail?: string;
}

function parseRule(text: string): PathRule {
  const at = text.indexOf("=");
  if (at <= 0 || at === text.length - 1)
    throw new UserError(`--path ${text}: give OLD=NEW (a directory and where it is now)`, ExitCode.Usage);
  return { text, old: text.slice(0, at), new: text.slice(at + 1) };
}

/** The world's disks; a world of something else (or a damaged machine section) has none to relocate. */
function worldDisks(reader: CheckpointReader, world: string): CheckpointDisk[] {
  try {
    return Machine.checkpointDisks(reader);
  } catch (e) {
    return checkpointFailure(e, world);
  }
}

/**
 * Applies the rules to one search path. A rule's OLD is `%n%` (the n-th directory), the
 * directory as stored, or a directory (relative to the working directory) that is, or
 * contains, where a stored one resolves to: `/old` moves `/old/disks` to `/new/disks`. NEW is
 * stored absolute when given absolute, else relative to the world's directory (as saves
 * store them), so the world and its disks can still move together.
 */
function applyRules(
  world: string,
  searchPath: readonly string[],
  rules: readonly PathRule[],
  used: Set<PathRule>,
): string[] {
  const worldDir = path.dirname(path.resolve(world));
  return searchPath.map((dir, i) => {
    const abs = path.resolve(worldDir, dir);
    for (const rule of rules) {
      let rest: string | undefined;
      if (rule.old === `%${i + 1}%` || rule.old === dir) rest = "";
      else {
        const old = path.resolve(rule.old);
        if (abs === old) rest = "";
        else if (abs.startsWith(old.endsWith(path.sep) ? old : old + path.sep))
          rest = path.relative(old, abs);
      }
      if (rest === undefined) continue;
      used.add(rule);
      if (path.isAbsolute(rule.new)) return path.join(rule.new, rest);
      const target = path.resolve(rule.new, rest);
      return path.relative(worldDir, target) || ".";
    }
    return dir;
  });
}

/** Checks each disk reference against a search path: there, and the disk the world was saved with. */
function checkDisks(
  world: string,
  disks: readonly CheckpointDisk[],
  searchPath: readonly string[],
): DiskCheck[] {
  return disks.map((d): DiskCheck => {
    const where: ResolvedReference = resolveReference(world, searchPath, d.source);
    const base = { slot: d.slot, reference: d.source, file: where.file };
    if (!referenceFound(where))
      return { ...base, state: "missing", detail: where.problem ?? `no file ${where.file}` };
    const format = d.format === "raw" || d.format === "qcow2" || d.format === "amber" ? d.format : undefined;
    let images: ReturnType<typeof openDisks>;
    try {
      images = openDisks([{ file: where.file, format, rw: false }]);
    } catch (e) {
      return { ...base, state: "missing", detail: (e as Error).message };
    }
    try {
      const image = images[0]!;
      if (image.size !== d.size)
        return {
          ...base,
          state: "other-content",
          detail: `${image.size} bytes, the saved disk had ${d.size}`,
        };
      const fp = diskFingerprint(image);
      if (fp !== d.fingerprint)
        return {
          ...base,
          state: "other-content",
          detail: `fingerprint ${fp}, the saved disk's ${d.fingerprint}`,
        };
      return { ...base, state: "ok" };
    } finally {
      for (const i of images) i.close();
    }
  });
}

function describeCheck(c: DiskCheck): string {
  const state = c.state === "ok" ? "found" : c.state === "missing" ? "MISSING" : "OTHER CONTENT";
  return `  disk ${c.slot}: ${c.reference} → ${c.file}: ${state}${c.detail === undefined ? "" : ` (${c.detail})`}`;
}

function listCommand(writeOut: (t: string) => void, world: string, json: boolean): number {
  const reader = open(world);
  try {
    const searchPath = reader.header.searchPath;
    const checks = checkDisks(world, worldDisks(reader, world), searchPath);
    const worldDir = path.dirname(path.resolve(world));
    if (json) {
      writeOut(
        `${JSON.stringify({
          world,
          digest: reader.digest,
          searchPath: searchPath.map((dir, i) => ({
            index: i + 1,
            dir,
            resolved: path.resolve(worldDir, dir),
            exists: isDirectory(path.resolve(worldDir, dir)),
          })),
          disks: checks,
        })}\n`,
      );
    } else {
      const lines = [
        `${world}: search path${searchPath.length === 0 ? " (none)" : ""}`,
        ...searchPath.map((dir, i) => {
          const abs = path.resolve(worldDir, dir);
          return `  %${i + 1}% = ${dir}${dir === abs ? "" : ` (${abs})`}${isDirectory(abs) ? "" : ": no such directory"}`;
        }),
        `disks${checks.length === 0 ? " (none)" : ""}:`,
        ...checks.map(describeCheck),
      ];
      writeOut(`${lines.join("\n")}\n`);
    }
    return checks.every((c) => c.state === "ok") ? ExitCode.Ok : ExitCode.Failure;
  } finally {
    reader.close();
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function open(world: string, withParents = false): CheckpointReader {
  try {
    return openCheckpoint(world, { sections: SECTION_SPECS, withoutParent: !withParents });
  } catch (e) {
    return checkpointFailure(e, world);
  }
}

interface RelocateOptions {
  path?: string[];
  list?: boolean;
  json?: boolean;
  chain?: boolean;
  check?: boolean;
}

/**
 * The worlds `relocate` rewrites: WORLD, and with --chain the files of its parents; for a
 * machine directory (`amber repl`'s), every world in it (parents included).
 */
function worldsToRewrite(world: string, chain: boolean): string[] {
  if (MachineDirectory.isMachine(world)) {
    const dir = MachineDirectory.open(world);
    const names = dir.worlds();
    if (names.length === 0)
      throw new UserError(`${world}: a machine directory without saved worlds`, ExitCode.Failure);
    return names.map((n) => dir.worldPath(n));
  }
  if (!chain) return [world];
  const reader = open(world, true);
  try {
    return reader.chain.map((r) => r.name);
  } finally {
    reader.close();
  }
}

function relocateCommand(
  env: CliEnv,
  writeOut: (t: string) => void,
  world: string,
  o: RelocateOptions,
): number {
  if (o.list === true) {
    if (o.path !== undefined)
      throw new UserError(
        "--list shows the search path; give --path without it to change it",
        ExitCode.Usage,
      );
    if (!MachineDirectory.isMachine(world)) return listCommand(writeOut, world, o.json === true);
    // A machine directory: each world, one after the other (JSON: one line each).
    let status: number = ExitCode.Ok;
    for (const w of worldsToRewrite(world, false)) {
      if (listCommand(writeOut, w, o.json === true) !== ExitCode.Ok) status = ExitCode.Failure;
    }
    return status;
  }
  if (o.path === undefined || o.path.length === 0)
    throw new UserError("give --path OLD=NEW (repeatable), or --list to see the search path", ExitCode.Usage);
  const rules = o.path.map(parseRule);
  const used = new Set<PathRule>();
  const plans: { world: string; before: readonly string[]; after: string[]; checks: DiskCheck[] }[] = [];
  for (const w of worldsToRewrite(world, o.chain === true)) {
    const reader = open(w);
    try {
      const before = reader.header.searchPath;
      const after = applyRules(w, before, rules, used);
      const checks = o.check === false ? [] : checkDisks(w, worldDisks(reader, w), after);
      plans.push({ world: w, before, after, checks });
    } finally {
      reader.close();
    }
  }
  for (const rule of rules) {
    if (!used.has(rule)) {
      const dirs = plans[0]!.before;
      throw new UserError(
        `--path ${rule.text}: ${rule.old} is not in ${world}'s search path (${dirs.length === 0 ? "it has none" : dirs.map((d, i) => `%${i + 1}% = ${d}`).join(", ")})`,
        ExitCode.Usage,
      );
    }
  }
  // Every check before any write: a refused relocation changes no world.
  for (const p of plans) {
    const bad = p.checks.find((c) => c.state !== "ok");
    if (bad !== undefined) {
      const what =
        bad.state === "missing"
          ? `would be ${bad.file}, which is not there (${bad.detail})`
          : `would be ${bad.file}, which is another disk than the one saved (${bad.detail})`;
      throw new UserError(
        `${p.world}: disk ${bad.slot} (${bad.reference}) ${what}; nothing changed${bad.state === "missing" ? " (--no-check writes the search path anyway)" : ""}`,
        ExitCode.Failure,
      );
    }
  }
  const results = [];
  for (const p of plans) {
    const changed = p.after.some((d, i) => d !== p.before[i]);
    if (changed) {
      try {
        relocateCheckpoint(p.world, p.after, { sections: SECTION_SPECS });
      } catch (e) {
        return checkpointFailure(e, p.world);
      }
    }
    results.push({ world: p.world, changed, searchPath: p.after, disks: p.checks });
    if (o.json !== true) {
      env.stderr(
        changed
          ? `amber: ${p.world}: search path ${p.after.map((d, i) => `%${i + 1}% = ${d}`).join(", ")}${p.checks.length > 0 ? ` (${p.checks.length} disk${p.checks.length === 1 ? "" : "s"} found, the same content)` : ""}\n`
          : `amber: ${p.world}: unchanged, its search path already says ${p.after.map((d, i) => `%${i + 1}% = ${d}`).join(", ") || "nothing"}\n`,
      );
    }
  }
  if (o.json === true) writeOut(`${JSON.stringify(results)}\n`);
  return ExitCode.Ok;
}

export function registerRelocateCommand(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: number) => void,
): void {
  program
    .command("relocate")
    .description(
      "Show or change where a saved world looks for its disks (its search path), without editing it.",
    )
    .argument(
      "<world>",
      "a saved world (.amber/.ambc file or a composed directory), or a machine directory (all its worlds)",
    )
    .option(
      "--path <old=new>",
      "a directory of the search path (as stored, %n%, or a directory holding it) and where it is now; repeatable",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option(
      "--list",
      "show the search path and each disk reference, and whether it resolves (exit 125 if one does not)",
    )
    .option("--json", "print the result as JSON")
    .option("--chain", "also rewrite the world's parents (for resuming them too)")
    .option("--no-check", "write the new search path even when a disk is not there yet")
    .addHelpText(
      "after",
      `
A world names each disk it was saved with as %n%/FILE: FILE in the n-th directory of its
search path, one list in the world's header (directories relative to the world, or
absolute). When disks move, \`amber relocate WORLD --path OLD=NEW\` rewrites only that list:
OLD is %n%, a directory as stored, or a directory that is or holds where one resolves (so
--path /old=/new moves /old/disks to /new/disks); NEW is stored absolute if given absolute,
else relative to the world. Each disk must then be found with the content it was saved with
(size and fingerprint), or nothing is written. The rewrite keeps the world's digest (the
search path is not part of it), so worlds saved on it still find it; it is written as a new
file beside the world, fsynced, read back and renamed over it, so an interrupted relocate
leaves the world as it was.

Incremental worlds: resuming a world reads its disks from that world only (every world
holds the whole machine state and its own search path), never from its parents; relocate
rewrites the world named, and --chain its parents too, for resuming them as well. Given an
\`amber repl\` machine directory, it rewrites every world in it.

Exit status: 0 done (with --list: every disk found), 2 a bad command line or a --path that
matches no directory, 125 a world that cannot be read or written, or a disk missing or
with other content.`,
    )
    .action((world: string, o: RelocateOptions) => setStatus(relocateCommand(env, writeOut, world, o)));
}
