import { registerName } from "@amber/isa";
import type { Machine } from "../machine.js";

/** How two machines' states differ (empty lists: they are the same). */
export interface StateDiff {
  /** General registers (x1..x31) and pc: name, value in a, value in b. */
  registers: { name: string; a: number; b: number }[];
  /** CSRs and the privilege level. */
  csrs: { name: string; a: number; b: number }[];
  /** Other parts of the state (devices, board) that differ, by name. */
  parts: string[];
  /** RAM pages whose content differs: their physical addresses, ascending. */
  pages: number[];
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Uint8Array) : x));
}

function samePage(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  const x = a ?? b!;
  const y = a === undefined ? undefined : b;
  if (y === undefined) return x.every((v) => v === 0);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Compares two machines built alike (same board, same RAM size): registers, CSRs, the other
 * parts of the state (`captureState` minus the instruction counters), and RAM page by page.
 */
export function diffStates(a: Machine, b: Machine): StateDiff {
  const sa = a.captureState();
  const sb = b.captureState();
  const registers: StateDiff["registers"] = [];
  for (let i = 1; i < 32; i++) {
    if (sa.hart.x[i] !== sb.hart.x[i])
      registers.push({ name: registerName(i), a: sa.hart.x[i]!, b: sb.hart.x[i]! });
  }
  if (sa.hart.pc !== sb.hart.pc) registers.push({ name: "pc", a: sa.hart.pc, b: sb.hart.pc });
  const csrs: StateDiff["csrs"] = [];
  if (sa.hart.priv !== sb.hart.priv) csrs.push({ name: "priv", a: sa.hart.priv, b: sb.hart.priv });
  for (const [k, v] of Object.entries(sa.csr)) {
    const w = (sb.csr as unknown as Record<string, unknown>)[k];
    if (typeof v === "number" && v !== w) csrs.push({ name: k, a: v, b: w as number });
    else if (typeof v !== "number" && canonical(v) !== canonical(w))
      csrs.push({ name: k, a: Number.NaN, b: Number.NaN });
  }
  const parts: string[] = [];
  const { x: _xa, pc: _pa, priv: _va, steps: _ta, ...restA } = sa.hart;
  const { x: _xb, pc: _pb, priv: _vb, steps: _tb, ...restB } = sb.hart;
  if (canonical(restA) !== canonical(restB)) parts.push("hart");
  for (const k of ["board", "clint", "plic", "uart", "semihosting", "virtio", "balloon"] as const) {
    if (canonical(sa[k]) !== canonical(sb[k])) parts.push(k);
  }
  const pages: number[] = [];
  const held = new Set([...a.ram.allocatedPageIndexes(), ...b.ram.allocatedPageIndexes()]);
  for (const i of [...held].sort((x, y) => x - y)) {
    if (!samePage(a.ram.page(i), b.ram.page(i))) pages.push(a.ram.base + i * 4096);
  }
  return { registers, csrs, parts, pages };
}

/** Whether the diff found no difference. */
export function statesEqual(d: StateDiff): boolean {
  return d.registers.length + d.csrs.length + d.parts.length + d.pages.length === 0;
}
