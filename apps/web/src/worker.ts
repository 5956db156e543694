import { type BlockFile, CheckpointReader, initCheckpoint, MemoryBlockFile, squash } from "@amber/checkpoint";
import { initCodecs } from "@amber/compress";
import { Machine, SECTION_SPECS } from "@amber/machine";
import {
  ConsoleIo,
  FilesWorldStore,
  MonitorError,
  type MonitorHost,
  parseMonitorLine,
  saveWorldAs,
  type WorldFiles,
  WorldSession,
  type WorldStore,
} from "@amber/monitor";
import { HttpBlockFile, type HttpStats } from "./http-block-file.js";
import { IdbWorldFiles } from "./idb-files.js";
import { OpfsWorldFiles } from "./opfs-files.js";
import type { BootRequest, FromWorker, Status, ToWorker } from "./protocol.js";

/** The machine's thread: a Web Worker, so the guest never runs on the page's main thread. */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

const CREATOR = { name: "amber-web", version: "0.0.0" };
const post = (m: FromWorker, transfer?: Transferable[]) => scope.postMessage(m, transfer);

let session: WorldSession | undefined;
let machineName = "";
let storage = "";
let http: HttpStats | undefined;
const answers = new Map<number, (yes: boolean) => void>();
let nextQuestion = 1;
/** Monitor lines run one after the other, as typed. */
let monitorQueue: Promise<void> = Promise.resolve();

/** Guest output, gathered for a few milliseconds so a chatty boot is not a message per byte. */
let pendingOutput: Uint8Array[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;
function flushOutput(): void {
  flushTimer = undefined;
  if (pendingOutput.length === 0) return;
  const size = pendingOutput.reduce((n, c) => n + c.length, 0);
  const data = new Uint8Array(size);
  let at = 0;
  for (const c of pendingOutput) {
    data.set(c, at);
    at += c.length;
  }
  pendingOutput = [];
  post({ type: "output", data }, [data.buffer]);
}

async function worldFiles(machine: string, prefer: "indexeddb" | undefined): Promise<WorldFiles> {
  const opfs = prefer === "indexeddb" ? undefined : await OpfsWorldFiles.open(machine);
  if (opfs !== undefined) {
    storage = "OPFS";
    return opfs;
  }
  storage = "IndexedDB";
  return IdbWorldFiles.open(machine);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** An image at a URL, its parents found beside it by their hints; lazily read where ranges work. */
function openUrl(url: string): { reader: CheckpointReader; stats: HttpStats } {
  const file = HttpBlockFile.open(url);
  const reader = CheckpointReader.open(file, {
    sections: SECTION_SPECS,
    resolveParent: (ref) => {
      const parent = HttpBlockFile.open(new URL(ref.hint, url).href) as BlockFile & { stats: HttpStats };
      return { file: parent };
    },
  });
  return { reader, stats: file.stats };
}

function fileName(name: string): string {
  const stem = name
    .replace(/\.amber$/, "")
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^[._-]+/, "");
  return (stem || "opened").slice(0, 64);
}

async function boot(request: BootRequest, guests: string, prefer: "indexeddb" | undefined): Promise<void> {
  await Promise.all([initCodecs(), initCheckpoint()]);
  session?.close();
  session = undefined;
  http = undefined;
  machineName = request.kind === "url" || request.kind === "file" ? "opened" : request.kind;
  const store: WorldStore = new FilesWorldStore(await worldFiles(machineName, prefer), CREATOR);
  const io = new ConsoleIo((data) => {
    // The session keeps the guest's control lines (guest-control.ts) off the console.
    const shown = (session?.noteOutputBytes(data) ?? data).slice();
    if (shown.length === 0) return;
    pendingOutput.push(shown);
    if (flushTimer === undefined) flushTimer = setTimeout(flushOutput, 8);
  });
  const events = {
    idle: () => {
      flushOutput();
      post({ type: "idle", prompt: session?.consoleTail ?? "" });
    },
    stopped: (message: string) => say(`${message}\n`),
    exited: (code: number) => {
      say(`the guest powered off (exit ${code})\n`);
      status();
    },
    // Lisp's (save-world "NAME"): saved into this browser's store as `:save NAME` does (it
    // shows in :saves and the status line; :restore NAME or a reload resumes it, answering #t).
    saveWorld: async (name: string) => {
      if (session === undefined) throw new MonitorError("no machine");
      try {
        await saveWorldAs(host(session), name, { guestAwaits: true });
        status();
      } catch (e) {
        say(`(save-world "${name}") refused: ${(e as Error).message}\n`);
        throw e;
      }
    },
  };
  let what: string;
  let digest: string | undefined;
  if (request.kind === "lisp") {
    const machine = new Machine({ io, cmdline: "lisp.elf" });
    machine.loadElf(await fetchBytes(`${guests}/lisp.elf`), "lisp.elf");
    session = new WorldSession(machine, io, events, true, store);
    what = "booting lisp.elf";
  } else if (request.kind === "linux") {
    const [kernel, firmware] = await Promise.all([
      fetchBytes(`${guests}/Image-mmu`),
      fetchBytes(`${guests}/firmware.elf`),
    ]);
    const machine = new Machine({ io, cmdline: "Image-mmu" });
    machine.loadKernel(kernel, { firmware, names: { kernel: "Image-mmu", firmware: "firmware.elf" } });
    session = new WorldSession(machine, io, events, true, store);
    what = "booting Linux (Image-mmu under firmware.elf)";
  } else if (request.kind === "elf") {
    const name = new URL(request.url).pathname.split("/").pop() || "program.elf";
    const machine = new Machine({ io, cmdline: name });
    machine.loadElf(await fetchBytes(request.url), name);
    session = new WorldSession(machine, io, events, true, store);
    what = `booting ${name}`;
  } else if (request.kind === "url") {
    const { reader, stats } = openUrl(request.url);
    http = stats;
    digest = reader.digest;
    session = WorldSession.resume(reader, { name: "url", location: request.url }, io, events, true, store);
    what = `resuming ${request.url} at instruction ${session.machine.hart.steps.toLocaleString("en")}${stats.lazy ? " (read lazily with HTTP Range)" : " (fetched whole: the server does not answer ranges)"}`;
  } else {
    const name = fileName(request.name);
    // Opened files are kept like saved worlds, so they survive a reload too.
    const files = (store as FilesWorldStore).files;
    await files.write(`${name}.amber`, request.bytes);
    const ref = { name, location: files.describe(`${name}.amber`) };
    const reader = await store.open(ref);
    digest = reader.digest;
    session = WorldSession.resume(reader, ref, io, events, true, store);
    await store.setCurrent(name);
    what = `resuming ${request.name} at instruction ${session.machine.hart.steps.toLocaleString("en")}`;
  }
  const s = session;
  // Linux's tty echoes and edits lines itself: keystrokes go through as they are. A bare
  // program (the Lisp) reads lines, so the page edits and echoes them, as the CLI does.
  // An opened world with paging on (satp set) is an operating system: raw too.
  const raw = request.kind === "linux" || s.machine.hart.csr.satp !== 0;
  post({
    type: "ready",
    machine: machineName,
    mode: raw ? "raw" : "line",
    banner: `amber: ${what}${digest === undefined ? "" : ` (digest ${digest})`} on a ${Math.round(s.machine.ram.size / 1048576)} MiB virt board; worlds kept in this browser (${storage}).\n`,
  });
  if (s.tailToShow) {
    s.tailToShow = false;
    post({ type: "output", data: new TextEncoder().encode(s.consoleTail) });
  }
  s.start();
}

/** The guest's prompt to show again after a monitor line, when it waits for input. */
function promptOf(): string | undefined {
  return session !== undefined && session.state === "waiting" ? session.consoleTail : undefined;
}

function say(text: string): void {
  flushOutput();
  post({ type: "monitor", text, stream: "say" });
}

function host(s: WorldSession): MonitorHost {
  return {
    session: s,
    out: (text) => post({ type: "monitor", text, stream: "out" }),
    say,
    confirm: (question) =>
      new Promise((resolve) => {
        const id = nextQuestion++;
        answers.set(id, resolve);
        post({ type: "confirm", id, question });
      }),
    progress: () => ({ update: () => {}, stop: () => {} }),
    quit: () => {
      s.close();
      say("the machine is stopped: boot or open another from the menu\n");
    },
  };
}

async function monitor(line: string): Promise<void> {
  const s = session;
  if (s === undefined) {
    say("no machine yet: boot one from the menu\n");
    post({ type: "done", line, ok: false });
    return;
  }
  try {
    // As in the CLI: let the guest finish what it was sent first.
    await s.settled(250);
    const { command, args } = parseMonitorLine(line.startsWith(":") ? line : `:${line}`);
    await command.run(host(s), args);
    s.tailToShow = false; // the page shows the prompt again itself (done.prompt)
    await session?.settled(250);
    post({ type: "done", line, ok: true, prompt: promptOf() });
  } catch (e) {
    say(`${e instanceof MonitorError ? e.message : `${(e as Error).message}`}\n`);
    post({ type: "done", line, ok: false, prompt: promptOf() });
  }
}

/** A world as one file: a full image as stored, an incremental one squashed with its parents. */
async function download(name: string | undefined): Promise<void> {
  const s = session;
  const world = name ?? s?.baseline?.name;
  if (s === undefined || world === undefined) {
    say("nothing to download: :save the world first\n");
    return;
  }
  const ref = await s.store.find(world);
  if (ref === undefined) {
    say(`no world "${world}" in this browser\n`);
    return;
  }
  const reader = await s.store.open(ref);
  try {
    let bytes: Uint8Array;
    let digest = reader.digest;
    if (reader.header.parentHint === "") {
      const file = await (s.store as FilesWorldStore).files.open(`${world}.amber`);
      bytes = file!.read(0, file!.size()).slice();
    } else {
      const out = new MemoryBlockFile();
      digest = squash(reader, out).digest;
      bytes = out.contents().slice();
    }
    post({ type: "file", name: `${world}.amber`, bytes, digest }, [bytes.buffer]);
  } finally {
    reader.close();
  }
}

function status(): void {
  const s = session;
  if (s === undefined) return;
  const st: Status = {
    machine: machineName,
    state: s.state,
    instructions: s.machine.hart.steps,
    mips: s.mips,
    world: s.baseline?.name,
    storage:
      http === undefined
        ? storage
        : `${storage}; URL: ${http.lazy ? "lazy" : "whole"}, ${http.requests} requests, ${http.bytes} bytes`,
  };
  post({ type: "status", status: st });
}
setInterval(status, 500);

scope.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case "boot":
      boot(m.request, m.guests, m.storage).catch((err: unknown) => {
        post({ type: "error", message: err instanceof Error ? err.message : String(err) });
      });
      return;
    case "input":
      if (session === undefined) return;
      if (session.state === "exited") say("the guest has powered off: :restore NAME, or boot again\n");
      else session.send(m.data);
      return;
    case "monitor":
      monitorQueue = monitorQueue.then(() => monitor(m.line));
      return;
    case "answer":
      answers.get(m.id)?.(m.yes);
      answers.delete(m.id);
      return;
    case "download":
      download(m.name).catch((err: unknown) => say(`download failed: ${(err as Error).message}\n`));
      return;
  }
};
