import type { AttachedDisk, Machine } from "@amber/machine";
import { formatBytes } from "./format.js";

/** A guest write as an image's snoop hook reports it (`@amber/image`'s `ImageWrite`). */
export interface SnoopedWrite {
  offset: number;
  length: number;
  /** Index of the layer that took it, or the layer count for a write kept aside (shadowed). */
  layer: number;
}

/** What the watch needs of a disk backend: `@amber/image`'s Image has both. */
interface SnoopableBackend {
  snoop(fn: (write: SnoopedWrite) => void): () => void;
  readonly layers: readonly { readonly format: string; readonly name: string; readonly writable: boolean }[];
}

function snoopable(backend: unknown): backend is SnoopableBackend {
  const b = backend as Partial<SnoopableBackend>;
  return typeof b.snoop === "function" && Array.isArray(b.layers);
}

/**
 * One line of a disk trace, the same for `amber run --disk-trace FILE` and the monitor's
 * `:disk-trace`: `insn=1234567 disk=0 offset=4096 length=512 layer=shadow`. `insn` is the
 * guest instruction count at the write (deterministic), `layer` the index of the layer file
 * that took it (0 = the lowest), or `shadow` when it was kept aside (a disk not opened rw).
 */
export function diskTraceLine(insn: number, slot: number, write: SnoopedWrite, layerCount: number): string {
  const layer = write.layer === layerCount ? "shadow" : String(write.layer);
  return `insn=${insn} disk=${slot} offset=${write.offset} length=${write.length} layer=${layer}\n`;
}

/** Where a trace's lines go: the monitor's output, or a file the host opened. */
export interface TraceSink {
  /** "here" or the file's name, for messages. */
  target: string;
  write(line: string): void;
  close?(): void;
  lines: number;
}

/** Writes and bytes one layer (or the shadow) took. */
interface LayerCount {
  writes: number;
  bytes: number;
}

/**
 * Watches a machine's disks through their snoop hooks (no data copied): counts the guest's
 * writes and bytes per disk and layer since the watch began, and hands each write to a
 * trace sink while one is set. The monitor's `:disks` and `:disk-trace` read it.
 */
export class DiskWatch {
  /** Per slot: counts by layer index (the layer count is the shadow). */
  private readonly counts = new Map<number, Map<number, LayerCount>>();
  private readonly stops: (() => void)[] = [];
  /** Where trace lines go while a trace is on. */
  private sink: TraceSink | undefined;

  constructor(readonly machine: Machine) {
    for (const d of machine.attachedDisks()) {
      const backend = d.backend;
      if (!snoopable(backend)) continue;
      const byLayer = new Map<number, LayerCount>();
      this.counts.set(d.slot, byLayer);
      this.stops.push(
        backend.snoop((w) => {
          let c = byLayer.get(w.layer);
          if (c === undefined) {
            c = { writes: 0, bytes: 0 };
            byLayer.set(w.layer, c);
          }
          c.writes++;
          c.bytes += w.length;
          const sink = this.sink;
          if (sink !== undefined) {
            sink.lines++;
            // The guest's console output before this write comes first.
            machine.flushConsole();
            sink.write(diskTraceLine(machine.hart.steps, d.slot, w, backend.layers.length));
          }
        }),
      );
    }
  }

  /** The `:disks` listing: each disk, its layers (lowest first) and the writes each took. */
  describe(): string {
    const disks = this.machine.attachedDisks();
    if (disks.length === 0) return "no disks (amber repl PROGRAM --disk FILE attaches one)\n";
    return `${disks.map((d) => this.describeDisk(d)).join("\n")}\n(writes by layer: since this world was started or restored)\n`;
  }

  private describeDisk(d: AttachedDisk): string {
    const head = `disk ${d.slot} (virtio${d.slot}): ${d.source || "(no name)"}${d.format ? ` (${d.format})` : ""}, ${formatBytes(d.size)}${d.readOnly ? ", read-only" : ""}, ${d.writtenPages} page${d.writtenPages === 1 ? "" : "s"} written`;
    const backend = d.backend;
    if (!snoopable(backend)) return `${head}\n  (its backend has no layers to watch)`;
    const counts = this.counts.get(d.slot) ?? new Map<number, LayerCount>();
    const rows = backend.layers.map((l, i) => ({
      label: `layer ${i}`,
      what: `${l.format} ${l.name}${l.writable ? " (rw)" : ""}`,
      c: counts.get(i),
    }));
    const shadow = counts.get(backend.layers.length);
    if (shadow !== undefined || !backend.layers.some((l) => l.writable))
      rows.push({ label: "shadow", what: "kept aside in memory (the file unchanged)", c: shadow });
    const width = Math.max(...rows.map((r) => r.what.length));
    return [
      head,
      ...rows.map(
        (r) =>
          `  ${r.label.padEnd(8)} ${r.what.padEnd(width)}  ${String(r.c?.writes ?? 0).padStart(6)} write${r.c?.writes === 1 ? " " : "s"} ${formatBytes(r.c?.bytes ?? 0).padStart(10)}`,
      ),
    ].join("\n");
  }

  /** Where the trace goes ("here", a file name), or undefined when it is off. */
  get tracing(): { target: string; lines: number } | undefined {
    return this.sink === undefined ? undefined : { target: this.sink.target, lines: this.sink.lines };
  }

  /** Starts tracing every write to `sink` (stopping a trace already on). */
  startTrace(sink: Omit<TraceSink, "lines">): void {
    this.stopTrace();
    this.sink = { ...sink, lines: 0 };
  }

  /** Stops the trace (closing its file); returns what it was. */
  stopTrace(): { target: string; lines: number } | undefined {
    const s = this.sink;
    this.sink = undefined;
    s?.close?.();
    return s === undefined ? undefined : { target: s.target, lines: s.lines };
  }

  /** Detaches from the disks; the trace, if on, passes to `next` (the watch of the world that replaces this one). */
  close(next?: DiskWatch): void {
    for (const stop of this.stops.splice(0)) stop();
    if (next !== undefined) next.sink = this.sink;
    else this.sink?.close?.();
    this.sink = undefined;
  }
}
