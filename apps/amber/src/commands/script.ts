import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { type BootOptions, Session, SessionError, type SessionOptions } from "@amber/machine";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { importModule } from "../import-module.js";
import { UserError } from "../user-error.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { workerForker } from "./script-fork.js";

/** A file a script names: a path (relative to the working directory), a file: URL, or bytes. */
export type FileRef = string | URL | Uint8Array;

/** What a script gets as `amber` (a global, and the argument of its default export). */
export interface ScriptApi {
  /** Boots a program (`elf`) or a kernel (`kernel`, `firmware`, `initrd`) on a fresh board. */
  boot(
    options: Omit<BootOptions, "elf" | "kernel" | "firmware" | "initrd"> & {
      elf?: FileRef;
      kernel?: FileRef;
      firmware?: FileRef;
      initrd?: FileRef;
    },
  ): Promise<Session>;
  /** Resumes a saved world (an image file with its parents, or an image's bytes). */
  resume(image: FileRef, options?: SessionOptions): Promise<Session>;
  /** The arguments after the script's name. */
  args: string[];
  Session: typeof Session;
  SessionError: typeof SessionError;
}

function readRef(ref: FileRef): Uint8Array {
  if (ref instanceof Uint8Array) return ref;
  const file = ref instanceof URL ? fileURLToPath(ref) : ref;
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new UserError(`${file}: cannot read: ${reason}`, ExitCode.Failure);
  }
}

const refName = (ref: FileRef | undefined): string | undefined =>
  ref === undefined || ref instanceof Uint8Array
    ? undefined
    : path.basename(ref instanceof URL ? fileURLToPath(ref) : ref);

/** The API a script runs with; forks run in worker threads collected in `workers`. */
export function scriptApi(args: string[], workers: Set<Worker>): ScriptApi {
  const forker = workerForker(workers);
  return {
    boot: (o) =>
      Session.boot({
        ...o,
        name: o.name ?? refName(o.elf ?? o.kernel),
        elf: o.elf === undefined ? undefined : readRef(o.elf),
        kernel: o.kernel === undefined ? undefined : readRef(o.kernel),
        firmware: o.firmware === undefined ? undefined : readRef(o.firmware),
        initrd: o.initrd === undefined ? undefined : readRef(o.initrd),
        forker,
      }),
    resume: async (image, options = {}) => {
      const name = options.name ?? refName(image);
      if (image instanceof Uint8Array) return Session.resume(image, { ...options, name, forker });
      const file = image instanceof URL ? fileURLToPath(image) : image;
      const reader = openImage(file);
      try {
        return await Session.resume(reader, { ...options, name, forker });
      } catch (e) {
        reader.close();
        return checkpointFailure(e, file);
      }
    },
    args,
    Session,
    SessionError,
  };
}

/**
 * `amber script FILE.mjs [ARGS...]`: runs a snapshot-programming script with `amber` in
 * scope (a global; also passed to the module's default export when it has one).
 * Exit status: 0 when the script finishes, 1 when it throws (a SessionError in one line),
 * 125 when the script cannot be read.
 */
export async function scriptCommand(env: CliEnv, file: string, args: string[]): Promise<number> {
  const full = path.resolve(file);
  if (!fs.existsSync(full)) throw new UserError(`${file}: cannot read: no such file`, ExitCode.Failure);
  if (!fs.statSync(full).isFile()) {
    throw new UserError(`${file}: is not a file, expected a JavaScript module (.mjs)`, ExitCode.Failure);
  }
  const workers = new Set<Worker>();
  const api = scriptApi(args, workers);
  (globalThis as { amber?: ScriptApi }).amber = api;
  try {
    const module = (await importModule(pathToFileURL(full).href)) as { default?: unknown };
    if (typeof module.default === "function") await (module.default as (a: ScriptApi) => unknown)(api);
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof UserError) throw e;
    // Node refused to load the file as a module at all: a wrong file, not the script's bug.
    if ((e as { code?: string })?.code === "ERR_UNKNOWN_FILE_EXTENSION") {
      throw new UserError(
        `${file}: not a JavaScript module Node can load (expected .mjs or .js)`,
        ExitCode.Failure,
      );
    }
    if (e instanceof SessionError) {
      env.stderr(`amber: ${file}: ${e.message}\n`);
      return 1;
    }
    env.stderr(`amber: ${file}: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    await Promise.all([...workers].map((w) => w.terminate()));
  }
}

export function registerScriptCommand(
  program: Command,
  env: CliEnv,
  setStatus: (s: number | Promise<number>) => void,
): void {
  program
    .command("script")
    .description(
      "Run a snapshot-programming script (JavaScript module) with `amber` in scope: boot, expect, type, save, restore, fork.",
    )
    .argument("<file>", "the script, an ES module (.mjs)")
    .argument("[args...]", "arguments for the script (amber.args)")
    .addHelpText(
      "after",
      `
In the script, \`amber.boot({ elf | kernel, firmware, initrd, bootargs, ram })\` and
\`amber.resume(IMAGE)\` give a session: \`await s.expect(text | /re/, { timeout })\`
(timeout in guest instructions, deterministic; { ms } for host time), \`s.type(text)\`,
\`s.save(name)\`, \`s.restore(name)\`, \`await s.fork(n)\` (n copies in worker threads,
same verbs, async), \`s.close()\`. Files are paths or URLs (new URL("x", import.meta.url)).
A guest's (save-world "NAME") saves snapshot NAME, as the REPL saves world NAME: the guest
goes on (#f); restored (\`s.restore("NAME")\`) or resumed from \`s.snapshot("NAME")\`, it gets #t.
Exit status: 0, 1 when the script throws (a session error in one line), 125 when the
script or a file it names cannot be read.`,
    )
    .action((file: string, args: string[]) =>
      setStatus(
        scriptCommand(env, file, args).catch((e: unknown) => {
          if (e instanceof UserError) {
            env.stderr(`amber: ${e.message}\n`);
            return e.exitCode;
          }
          throw e;
        }),
      ),
    );
}
