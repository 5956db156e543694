import { Terminal } from "@xterm/xterm";
import type { BootRequest, FromWorker, Status, ToWorker } from "./protocol.js";

/** The page: menu, xterm.js console, monitor buttons and command line. The machine runs in worker.js. */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const terminal = new Terminal({ convertEol: true, cols: 100, rows: 32, scrollback: 5000 });
terminal.open($("terminal"));
const log = $<HTMLPreElement>("monitor-log");
const statusLine = $("status");
let worker: Worker | undefined;
let mode: "line" | "raw" = "line";
/** The line being typed (line mode: the page edits and echoes it, as the CLI's readline does). */
let line = "";
const guests = new URL("guests", document.baseURI).href;
const params = new URLSearchParams(location.search);
/** `?storage=indexeddb` keeps worlds in IndexedDB even where OPFS exists (the fallback, testable). */
const storage = params.get("storage") === "indexeddb" ? "indexeddb" : undefined;

function send(m: ToWorker, transfer?: Transferable[]): void {
  worker?.postMessage(m, transfer ?? []);
}

function say(text: string): void {
  log.textContent += text;
  log.scrollTop = log.scrollHeight;
}

function showStatus(s: Status): void {
  statusLine.textContent = `${s.machine}: ${s.state}, ${s.instructions.toLocaleString("en")} instructions, ${s.mips.toFixed(1)} MIPS; world ${s.world ?? "(unsaved)"}; ${s.storage}`;
  statusLine.dataset.state = s.state;
}

function download(name: string, bytes: Uint8Array, digest: string): void {
  const url = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }),
  );
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  say(`downloaded ${name}: ${bytes.length} bytes, digest ${digest}\n`);
}

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case "output":
      terminal.write(m.data);
      return;
    case "ready":
      mode = m.mode;
      line = "";
      say(m.banner);
      document.title = `Amber: ${m.machine}`;
      return;
    case "idle":
      return;
    case "monitor":
      say(m.text);
      return;
    case "done":
      // Line mode: the monitor's line took the guest's prompt away; show it again.
      if (mode === "line" && m.prompt !== undefined) terminal.write(m.prompt);
      return;
    case "confirm":
      send({ type: "answer", id: m.id, yes: window.confirm(m.question) });
      return;
    case "status":
      showStatus(m.status);
      return;
    case "file":
      download(m.name, m.bytes, m.digest);
      return;
    case "error":
      say(`amber: ${m.message}\n`);
      return;
  }
}

function boot(request: BootRequest, transfer?: Transferable[]): void {
  worker?.terminate();
  terminal.reset();
  log.textContent = "";
  worker = new Worker(new URL("worker.js", import.meta.url), { type: "module", name: "amber-machine" });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
  worker.onerror = (e) => say(`amber: the machine's worker failed: ${e.message}\n`);
  send({ type: "boot", request, guests, storage }, transfer);
  terminal.focus();
}

function monitor(text: string): void {
  if (worker === undefined) {
    say("no machine yet: boot one from the menu\n");
    return;
  }
  say(`${text}\n`);
  send({ type: "monitor", line: text });
}

terminal.onData((data) => {
  if (worker === undefined) return;
  if (mode === "raw") {
    send({ type: "input", data });
    return;
  }
  for (const ch of data) {
    if (ch === "\r" || ch === "\n") {
      terminal.write("\r\n");
      const typed = line;
      line = "";
      if (typed.startsWith(":")) monitor(typed);
      else send({ type: "input", data: `${typed}\n` });
    } else if (ch === "\x7f" || ch === "\b") {
      if (line.length > 0) {
        line = line.slice(0, -1);
        terminal.write("\b \b");
      }
    } else if (ch === "\x15") {
      terminal.write("\b \b".repeat(line.length));
      line = "";
    } else if (ch >= " ") {
      line += ch;
      terminal.write(ch);
    }
  }
});

$("boot-lisp").onclick = () => boot({ kind: "lisp" });
$("boot-linux").onclick = () => boot({ kind: "linux" });
$<HTMLInputElement>("open-file").onchange = async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  boot({ kind: "file", name: file.name, bytes }, [bytes.buffer]);
};
for (const b of document.querySelectorAll<HTMLButtonElement>("#monitor-buttons [data-cmd]")) {
  b.onclick = () => monitor(b.dataset.cmd!);
}
for (const b of document.querySelectorAll<HTMLButtonElement>("#monitor-buttons [data-ask]")) {
  b.onclick = () => {
    const args = window.prompt(`${b.dataset.ask} (world names)`);
    if (args) monitor(`${b.dataset.ask} ${args}`);
  };
}
$("download").onclick = () => send({ type: "download" });
$<HTMLFormElement>("monitor-form").onsubmit = (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>("monitor-line");
  const text = input.value.trim();
  input.value = "";
  if (text !== "") monitor(text.startsWith(":") ? text : `:${text}`);
};

/** Tests and people at the console read the terminal through this. */
(window as unknown as { amber: unknown }).amber = {
  terminalText(): string {
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n").replace(/\n+$/, "");
  },
  monitorText: (): string => log.textContent ?? "",
};

const image = params.get("image");
const elf = params.get("elf");
if (image !== null) boot({ kind: "url", url: new URL(image, document.baseURI).href });
else if (elf !== null) boot({ kind: "elf", url: new URL(elf, document.baseURI).href });
