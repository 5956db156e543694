import type { Hash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEFAULT_RAM_SIZE,
  decodeReplayLog,
  encodeReplayLog,
  type HostIo,
  InputLog,
  Machine,
  MachineError,
  type ReplayLog,
  type RunOutcome,
} from "@amber/machine";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { readFailure } from "../file-error.js";
import { sizeOption } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { openImage } from "./checkpoint-open.js";
import { machineDisks, openDisks, parseDiskSpec } from "./image-disks.js";
import { bootMachine, finishRun, type RunOptions } from "./run.js";

/** A SHA-256 hash; node:crypto is loaded only by runs that record or replay. */
const newSha256 = (): Hash => process.getBuiltinModule("node:crypto").createHash("sha256");

/** Host I/O passed on, with the console output counted and hashed (SHA-256) on the way. */
export class ConsoleTap implements HostIo {
  private readonly hash: Hash = newSha256();
  bytes = 0;

  constructor(private readonly inner: HostIo) {}

  stdout(data: Uint8Array): void {
    this.hash.update(data);
    this.bytes += data.length;
    this.inner.stdout(data);
  }

  stderr(data: Uint8Array): void {
    this.inner.stderr(data);
  }

  stdin(max: number): Uint8Array | null {
    return this.inner.stdin(max);
  }

  /** Passes on the optional `HostIo.waitForInput` (waiting for input without spinning). */
  waitForInput(ms: number): void {
    (this.inner as { waitForInput?(ms: number): void }).waitForInput?.(ms);
  }

  digest(): string {
    return this.hash.copy().digest("hex");
  }
}

/**
 * SHA-256 of the machine's whole state at a stop: the state but RAM (`captureState`, as
 * canonical JSON) and every RAM page that holds non-zero data, with its index.
 */
export function stateDigest(machine: Machine): string {
  const h = newSha256();
  h.update(
    JSON.stringify(machine.captureState(), (_k, v: unknown) =>
      v instanceof Uint8Array || v instanceof Int32Array || v instanceof Uint32Array ? Array.from(v) : v,
    ),
  );
  const ram = machine.ram;
  const index = new Uint8Array(4);
  for (const i of ram.allocatedPageIndexes()) {
    const page = ram.page(i);
    if (page === undefined || page.every((b) => b === 0)) continue;
    new DataView(index.buffer).setUint32(0, i, true);
    h.update(index);
    h.update(page);
  }
  return h.digest("hex");
}

function sha256(bytes: Uint8Array): string {
  return newSha256().update(bytes).digest("hex");
}

/** How a run ended, as the log records it. */
export function outcomeText(outcome: RunOutcome): string {
  return outcome.kind === "exited" ? `exited ${outcome.code}` : outcome.kind;
}

/** The files a run reads (program, kernel, firmware, initrd, disks), by absolute path, with their SHA-256. */
export function recordedFiles(env: CliEnv, paths: readonly string[]): ReplayLog["start"]["files"] {
  return paths.map((p) => ({ path: path.resolve(p), sha256: sha256(env.readFile(p)) }));
}

/**
 * A recording in progress: the machine's io is `input` (the log) over `tap` (the console,
 * hashed). `finish` writes the log (atomically: a temporary file renamed over `target`);
 * if the process exits first (Ctrl-A x), the log is written with what was consumed.
 */
export class Recording {
  readonly tap: ConsoleTap;
  readonly input: InputLog;
  private machine: Machine | undefined;
  private readonly onExit = (): void => this.write("interrupted", undefined);

  constructor(
    env: CliEnv,
    private readonly target: string,
    private readonly start: ReplayLog["start"],
    private readonly hostTime: boolean,
  ) {
    this.tap = new ConsoleTap(env.io);
    this.input = new InputLog(this.tap, [], env.hostClock);
    process.once("exit", this.onExit);
  }

  attach(machine: Machine): void {
    this.machine = machine;
    this.input.steps = () => machine.hart.liveSteps;
  }

  finish(outcome: RunOutcome): void {
    process.off("exit", this.onExit);
    this.write(outcomeText(outcome), this.machine === undefined ? undefined : stateDigest(this.machine));
  }

  /** Stops recording without writing (the machine could not be built). */
  abandon(): void {
    process.off("exit", this.onExit);
  }

  private write(outcome: string, state: string | undefined): void {
    const log: ReplayLog = {
      start: this.start,
      hostTime: this.hostTime,
      events: this.input.events,
      end: {
        instructions: this.machine?.hart.liveSteps ?? 0,
        outcome,
        consoleBytes: this.tap.bytes,
        consoleSha256: this.tap.digest(),
        stateSha256: state,
      },
    };
    const tmp = `${this.target}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, encodeReplayLog(log));
      fs.renameSync(tmp, this.target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new UserError(`--record ${this.target}: cannot write: ${(e as Error).message}`, ExitCode.Failure);
    }
  }
}

/** Reads and checks a replay log, and that the files it was recorded with are unchanged. */
export function openReplayLog(env: CliEnv, file: string): ReplayLog {
  let text: string;
  try {
    text = new TextDecoder().decode(env.readFile(file));
  } catch (e) {
    throw new UserError(readFailure(file, e, "a replay log (amber run --record FILE)"), ExitCode.Failure);
  }
  let log: ReplayLog;
  try {
    log = decodeReplayLog(text, file);
  } catch (e) {
    if (e instanceof MachineError) throw new UserError(e.message, ExitCode.Failure);
    throw e;
  }
  for (const f of log.start.files) {
    let bytes: Uint8Array;
    try {
      bytes = env.readFile(f.path);
    } catch {
      throw new UserError(
        `${file}: the recording was made with ${f.path}, which cannot be read`,
        ExitCode.Failure,
      );
    }
    const now = sha256(bytes);
    if (now !== f.sha256) {
      throw new UserError(
        `${file}: ${f.path} changed since the recording (sha256 ${now.slice(0, 16)}…, recorded ${f.sha256.slice(0, 16)}…)`,
        ExitCode.Failure,
      );
    }
  }
  return log;
}

/** Host I/O for a replay: console output to `tap`, no live input (it all comes from the log). */
export function replayIo(tap: ConsoleTap): HostIo {
  return {
    stdout: (d) => tap.stdout(d),
    stderr: (d) => tap.stderr(d),
    stdin: () => new Uint8Array(0),
  };
}

export interface ReplayOptions {
  stats?: boolean;
  json?: boolean;
}

/**
 * `amber replay LOG`: builds the machine the log was recorded on (checking its files are
 * unchanged), runs it to the recorded instruction count with every input taken from the log
 * at the step it was consumed, and checks the run against the recording: same count, same
 * ending, byte-identical console output (SHA-256) and the same final state digest. The
 * console output goes to stdout; the verdict to stderr (or stdout with --json). Exit status:
 * the recorded run's (as `amber run` gives it) when it matches, 125 when it differs.
 */
export function replayCommand(env: CliEnv, file: string, options: ReplayOptions): number {
  const log = openReplayLog(env, file);
  // With --json, stdout is the verdict's: the console output is only hashed.
  const sink: HostIo = { stdout: () => {}, stderr: () => {}, stdin: () => new Uint8Array(0) };
  const tap = new ConsoleTap(options.json ? sink : env.io);
  const input = new InputLog(replayIo(tap), log.events.slice());
  const { machine, close } = replayMachine(env, log, input);
  try {
    const started = env.now();
    const outcome = machine.run(log.end.instructions - machine.hart.steps);
    const seconds = env.now() - started;
    const end = log.end;
    const interrupted = end.outcome === "interrupted";
    const got = {
      instructions: machine.hart.steps,
      outcome: interrupted && outcome.kind === "budget" ? "interrupted" : outcomeText(outcome),
      consoleBytes: tap.bytes,
      consoleSha256: tap.digest(),
      stateSha256: stateDigest(machine),
    };
    const differences: string[] = [];
    if (input.diverged !== undefined) {
      differences.push(
        `the guest asked for input at step ${input.diverged.at}, the recording has it at ${input.diverged.expected}`,
      );
    } else if (!input.atEnd) {
      differences.push(`${log.events.length - input.cursor} recorded inputs were never consumed`);
    }
    if (got.instructions !== end.instructions) {
      differences.push(`ended at instruction ${got.instructions}, recorded ${end.instructions}`);
    }
    if (got.outcome !== end.outcome) differences.push(`ended ${got.outcome}, recorded ${end.outcome}`);
    // An interrupted recording (Ctrl-A x) stopped mid-run: its last output was never flushed.
    if (!interrupted && got.consoleSha256 !== end.consoleSha256) {
      differences.push(`console output differs (${got.consoleBytes} bytes, recorded ${end.consoleBytes})`);
    }
    if (end.stateSha256 !== undefined && got.stateSha256 !== end.stateSha256) {
      differences.push(`final state differs (sha256 ${got.stateSha256}, recorded ${end.stateSha256})`);
    }
    const verdict = {
      matches: differences.length === 0,
      differences,
      ...got,
      events: log.events.length,
      seconds: Number(seconds.toFixed(6)),
    };
    if (options.json) env.io.stdout(new TextEncoder().encode(`${JSON.stringify(verdict)}\n`));
    else if (differences.length === 0) {
      env.stderr(
        `amber: replay of ${file} matches the recording: ${got.instructions} instructions, ${log.events.length} inputs, console output identical (${got.consoleBytes} bytes), state sha256 ${got.stateSha256.slice(0, 16)}…\n`,
      );
    } else env.stderr(`amber: replay of ${file} differs from the recording: ${differences.join("; ")}\n`);
    if (differences.length > 0) return ExitCode.Failure;
    // The run's own ending, as `amber run` reports it (an interrupted recording ends here, status 0).
    if (interrupted) return ExitCode.Ok;
    return finishRun(env, machine, outcome, seconds, options.stats === true);
  } finally {
    close();
  }
}

/**
 * The machine a log was recorded on, built again with `input` (the log's events) as its
 * host I/O; `close` releases its disks.
 */
export function replayMachine(
  env: CliEnv,
  log: ReplayLog,
  input: InputLog,
): { machine: Machine; close: () => void } {
  const o = log.start.options as RunOptions;
  const specs = (o.disk ?? []).map(parseDiskSpec);
  const image = log.start.image;
  const reader = image === undefined ? undefined : openImage(image.path);
  if (reader !== undefined && reader.digest !== image!.digest) {
    reader.close();
    throw new UserError(
      `the recording was made from ${image!.path} with digest ${image!.digest}; it now has ${reader.digest}`,
      ExitCode.Failure,
    );
  }
  let disks: ReturnType<typeof openDisks>;
  try {
    disks = openDisks(specs);
  } catch (e) {
    reader?.close();
    throw e;
  }
  const close = () => {
    for (const d of disks) d.close();
    reader?.close();
  };
  try {
    if (reader !== undefined) {
      const machine = Machine.fromCheckpoint(reader, { io: input, disks: machineDisks(disks, specs) });
      input.steps = () => machine.hart.liveSteps;
      return { machine, close };
    }
    const ramSize = o.ram === undefined ? DEFAULT_RAM_SIZE : sizeOption("--ram", o.ram);
    const machine = bootMachine(env, log.start.file, log.start.args, o, {
      ramSize,
      diskSpecs: specs,
      disks,
      io: input,
      cmdline: log.start.cmdline,
      hostTime: log.hostTime ? input.hostTime() : undefined,
    });
    input.steps = () => machine.hart.liveSteps;
    return { machine, close };
  } catch (e) {
    close();
    if (e instanceof MachineError) throw new UserError(e.message, ExitCode.Failure);
    throw e;
  }
}
