/**
 * A flattened device tree (DTB, version 17) writer, after the devicetree
 * specification, chapter 5: a big-endian header, an empty memory-reservation block,
 * the structure block (nodes and properties as tokens) and the strings block.
 */

/** A property value: a string, a list of strings, a list of 32-bit cells, raw bytes, or empty. */
export type PropValue = string | string[] | number[] | Uint8Array | null;

export interface FdtNode {
  name: string;
  props: [string, PropValue][];
  children: FdtNode[];
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;
const HEADER_SIZE = 40;

const encoder = new TextEncoder();

function encodeValue(value: PropValue): Uint8Array {
  if (value === null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(`${value}\0`);
  if (value.length > 0 && typeof value[0] === "string")
    return encoder.encode(`${(value as string[]).join("\0")}\0`);
  const cells = value as number[];
  const out = new Uint8Array(cells.length * 4);
  const view = new DataView(out.buffer);
  for (const [i, c] of cells.entries()) view.setUint32(i * 4, c >>> 0);
  return out;
}

class ByteSink {
  private chunks: number[] = [];
  get length(): number {
    return this.chunks.length;
  }
  u32(v: number): void {
    this.chunks.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.chunks.push(x);
  }
  align4(): void {
    while (this.chunks.length % 4 !== 0) this.chunks.push(0);
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** Serialises `root` (whose name must be "") into a DTB. */
export function writeFdt(root: FdtNode, bootCpu = 0): Uint8Array {
  const struct = new ByteSink();
  const strings = new ByteSink();
  const stringOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      stringOffsets.set(name, off);
      strings.bytes(encoder.encode(`${name}\0`));
    }
    return off;
  };
  const emit = (node: FdtNode): void => {
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(encoder.encode(`${node.name}\0`));
    struct.align4();
    for (const [name, value] of node.props) {
      const data = encodeValue(value);
      struct.u32(FDT_PROP);
      struct.u32(data.length);
      struct.u32(nameOffset(name));
      struct.bytes(data);
      struct.align4();
    }
    for (const child of node.children) emit(child);
    struct.u32(FDT_END_NODE);
  };
  emit(root);
  struct.u32(FDT_END);

  const rsvOffset = HEADER_SIZE;
  const rsvSize = 16; // one terminating (0, 0) entry
  const structOffset = rsvOffset + rsvSize;
  const stringsOffset = structOffset + struct.length;
  const total = stringsOffset + strings.length;
  const out = new ByteSink();
  for (const v of [
    FDT_MAGIC,
    total,
    structOffset,
    stringsOffset,
    rsvOffset,
    17,
    16,
    bootCpu,
    strings.length,
    struct.length,
  ]) {
    out.u32(v);
  }
  for (let i = 0; i < 4; i++) out.u32(0);
  out.bytes(struct.toBytes());
  out.bytes(strings.toBytes());
  return out.toBytes();
}
