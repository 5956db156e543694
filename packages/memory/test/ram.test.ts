import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryError, PAGE_SIZE, Ram } from "../src/index.js";

const BASE = 0x8000_0000;

describe("RAM pages", () => {
  it("allocates nothing for reads of never-written memory, which read as the init pattern", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20, initByte: 0xa5 });
    expect(ram.read(0, 4)).toBe(0xa5a5a5a5);
    expect(ram.read(100, 1)).toBe(0xa5);
    expect(ram.readBytes(4090, 10)).toEqual(new Uint8Array(10).fill(0xa5));
    expect(ram.allocatedPages).toBe(0);
  });

  it("allocates one page on first write and keeps the rest of it at the init pattern", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20, initByte: 0xff });
    ram.write(8, 1, 0x12);
    expect(ram.allocatedPages).toBe(1);
    expect(ram.read(8, 1)).toBe(0x12);
    expect(ram.read(9, 1)).toBe(0xff);
  });

  it("is little-endian at every width, misaligned and across page boundaries", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE });
    ram.write(PAGE_SIZE - 2, 4, 0x11223344);
    expect(ram.read(PAGE_SIZE - 2, 1)).toBe(0x44);
    expect(ram.read(PAGE_SIZE + 1, 1)).toBe(0x11);
    expect(ram.read(PAGE_SIZE - 2, 4)).toBe(0x11223344);
    expect(ram.read(PAGE_SIZE - 1, 2)).toBe(0x2233);
    expect(ram.allocatedPages).toBe(2);
  });

  it("keeps a 1 GiB RAM that is barely touched to a few megabytes", () => {
    const before = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    const ram = new Ram({ base: BASE, size: 1 << 30 });
    for (let i = 0; i < 64; i++) ram.write(i * 997 * PAGE_SIZE, 4, i);
    const after = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    expect(ram.allocatedPages).toBe(64);
    expect(after - before).toBeLessThan(32 * 1024 * 1024);
  });

  it("matches a flat byte array under random writes and reads", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            offset: fc.integer({ min: 0, max: 3 * PAGE_SIZE - 4 }),
            size: fc.constantFrom(1 as const, 2 as const, 4 as const),
            value: fc.integer({ min: 0, max: 0xffffffff }),
          }),
          { maxLength: 50 },
        ),
        (writes) => {
          const ram = new Ram({ base: BASE, size: 3 * PAGE_SIZE });
          const flat = new Uint8Array(3 * PAGE_SIZE);
          for (const w of writes) {
            ram.write(w.offset, w.size, w.value);
            for (let i = 0; i < w.size; i++) flat[w.offset + i] = (w.value >>> (8 * i)) & 0xff;
          }
          expect(ram.readBytes(0, flat.length)).toEqual(flat);
        },
      ),
    );
  });

  it("gives a page bulk-written by writeBytes its wider views and fast writes on its first read or write", () => {
    for (const flat of [false, true]) {
      const ram = new Ram({ base: BASE, size: 1 << 20, flat });
      const data = new Uint8Array(2 * PAGE_SIZE).map((_, i) => (i * 7) & 0xff);
      ram.writeBytes(0, data);
      expect(ram.pages8[0]).toEqual(data.subarray(0, PAGE_SIZE));
      expect([ram.pages16[0], ram.pages32[0], ram.fastWrite[0]]).toEqual([undefined, undefined, 0]);
      // A read (the hart's slow path) adds the views over the same bytes, no fast write yet.
      expect(ram.read(4, 4)).toBe(new DataView(data.buffer).getUint32(4, true));
      expect(ram.pages16[0]![3]).toBe(new DataView(data.buffer).getUint16(6, true));
      expect(ram.pages32[0]![1]).toBe(new DataView(data.buffer).getInt32(4, true));
      expect(ram.fastWrite[0]).toBe(0);
      // A write adds them too, and grants fast writes; direct writes land in every view.
      ram.write(PAGE_SIZE + 8, 2, 0xbeef);
      expect(ram.fastWrite[1]).toBe(1);
      ram.pages32[1]![3] = 0x01020304;
      expect(ram.pages8[1]![12]).toBe(4);
      expect(ram.pages16[1]![4]).toBe(0xbeef);
      expect(ram.readBytes(PAGE_SIZE + 12, 2)).toEqual(new Uint8Array([4, 3]));
      expect(ram.changedSince(1)).toEqual([0, 1]);
    }
  });

  it("lengthens the 16- and 32-bit page arrays only for pages given views, in place", () => {
    const ram = new Ram({ base: BASE, size: 256 << 20 });
    const { pages8, pages16, pages32 } = ram;
    const top = ram.pageCount - 1;
    // A device tree at the top of RAM, written by a loader and never read through the hart.
    ram.writeBytes(top * PAGE_SIZE, new Uint8Array([0xd0, 0x0d, 0xfe, 0xed]));
    expect(pages8.length).toBe(ram.pageCount);
    expect(pages16.length).toBeLessThan(ram.pageCount);
    expect(pages32.length).toBeLessThan(ram.pageCount);
    expect(pages32[top]).toBeUndefined();
    // Its first read through the hart's slow path gives it views: the arrays grow to hold them.
    expect(ram.read(top * PAGE_SIZE, 4)).toBe(0xedfe0dd0);
    expect(pages32.length).toBe(ram.pageCount);
    expect(pages32[top]![0]).toBe(0xedfe0dd0 | 0);
    expect(pages16[top]![1]).toBe(0xedfe);
    // The same arrays the hart was given, lengthened in place.
    expect(ram.pages16).toBe(pages16);
    expect(ram.pages32).toBe(pages32);
    // A page written through `write` below the arrays' length gets its views and fast writes.
    ram.write(5 * PAGE_SIZE, 4, 0x11223344);
    expect([pages32[5]![0], ram.fastWrite[5]]).toEqual([0x11223344, 1]);
  });

  it("rejects sizes that are not whole pages", () => {
    expect(() => new Ram({ base: BASE, size: 1000 })).toThrow(MemoryError);
    expect(() => new Ram({ base: 0xffff_f000, size: 2 * PAGE_SIZE })).toThrow(/does not fit/);
  });
});

describe("dirty-page epochs", () => {
  it("lists the pages written since an epoch, and only those", () => {
    const ram = new Ram({ base: BASE, size: 16 * PAGE_SIZE });
    ram.write(0, 4, 1);
    ram.write(5 * PAGE_SIZE, 4, 1);
    const e2 = ram.openEpoch();
    expect(ram.changedSince(e2)).toEqual([]);
    ram.write(5 * PAGE_SIZE + 8, 1, 2);
    ram.writeBytes(9 * PAGE_SIZE - 1, new Uint8Array(2));
    expect(ram.changedSince(e2)).toEqual([5, 8, 9]);
    expect(ram.changedSince(1)).toEqual([0, 5, 8, 9]);
    const e3 = ram.openEpoch();
    expect(ram.changedSince(e3)).toEqual([]);
    expect(ram.changedSince(e2)).toEqual([5, 8, 9]);
  });

  it("keeps epochs right across a big RAM's pages, its last page included, and against a model", () => {
    // 2049 pages: the epochs are kept in chunks of pages, the last chunk holding one page.
    const pages = 2049;
    const ram = new Ram({ base: BASE, size: pages * PAGE_SIZE });
    const model = new Uint32Array(pages);
    const order = [2048, 0, 1023, 1024, 1025, 2047, 1024, 7];
    for (const [k, p] of order.entries()) {
      if (k % 3 === 2) ram.openEpoch();
      ram.write(p * PAGE_SIZE + (k % 4) * 4, 4, k + 1);
      model[p] = ram.epoch;
    }
    for (let e = 1; e <= ram.epoch + 1; e++) {
      const expected = [...model.keys()].filter((p) => model[p]! !== 0 && model[p]! >= e);
      expect(ram.changedSince(e), `since epoch ${e}`).toEqual(expected);
    }
    expect(ram.allocatedPageIndexes()).toEqual([0, 7, 1023, 1024, 1025, 2047, 2048]);
    // A baseline copies a page before its first write since its instant, whatever its chunk.
    const b = ram.keepBaseline();
    ram.write(2048 * PAGE_SIZE, 4, 99);
    ram.write(1500 * PAGE_SIZE, 4, 98);
    expect(b.pageAt(2048)?.[0]).toBe(1);
    expect(b.writtenPages()).toEqual([1500, 2048]);
    expect(ram.changedSince(b.epoch)).toEqual([1500, 2048]);
    b.end();
  });

  it("clears fast-write permission at a new epoch so the next write is recorded", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE });
    ram.write(0, 4, 1);
    expect(ram.fastWrite[0]).toBe(1);
    ram.openEpoch();
    expect(ram.fastWrite[0]).toBe(0);
    ram.write(0, 4, 2);
    expect(ram.fastWrite[0]).toBe(1);
  });

  it("never grants fast writes to a watched page", () => {
    const ram = new Ram({ base: BASE, size: 4 * PAGE_SIZE });
    ram.watch(1);
    ram.write(PAGE_SIZE, 4, 1);
    expect(ram.fastWrite[1]).toBe(0);
  });
});

describe("RAM snapshots (copy-on-write)", () => {
  const page = (fill: number): Uint8Array => new Uint8Array(PAGE_SIZE).fill(fill);

  it("copies a page only when written after the instant and before being read", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    ram.writeBytes(0, page(1));
    ram.writeBytes(PAGE_SIZE, page(2));
    ram.writeBytes(2 * PAGE_SIZE, page(3));
    ram.write(0, 1, ram.read(0, 1)); // a hart's write: page 0 goes on the fast path
    const fastBefore = ram.fastWrite[0];
    const snap = ram.beginSnapshot();
    expect(fastBefore).toBe(1);
    // The next write to every page takes the slow path.
    expect([...ram.fastWrite.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect(snap.pages()).toEqual([0, 1, 2]);

    ram.write(0, 1, 0xaa); // before page 0 is read: copied
    ram.write(5, 1, 0xbb); // second write: no second copy
    expect(snap.copiedPages).toBe(1);
    expect(snap.readPage(0)).toEqual(page(1));

    expect(snap.readPage(1)).toEqual(page(2)); // read first...
    ram.write(PAGE_SIZE, 4, 0x12345678); // ...then written: no copy
    expect(snap.copiedPages).toBe(1);

    ram.write(10 * PAGE_SIZE, 1, 9); // allocated after the instant: absent, never copied
    expect(snap.readPage(10)).toBeUndefined();
    expect(snap.readPage(2)).toEqual(page(3));
    expect(snap.copiedPages).toBe(1);
    expect(() => snap.readPage(2)).toThrow(MemoryError);

    snap.end();
    expect(() => ram.beginSnapshot().end()).not.toThrow();
    expect(ram.read(0, 1)).toBe(0xaa);
    expect(ram.read(5, 1)).toBe(0xbb);
  });

  it("allows one snapshot at a time and stops copying after end()", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    ram.write(0, 4, 1);
    const snap = ram.beginSnapshot();
    expect(() => ram.beginSnapshot()).toThrow(MemoryError);
    snap.end();
    ram.write(0, 4, 2);
    expect(snap.copiedPages).toBe(0);
  });

  it("leaves pages still in a lazy-restore page source absent", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    ram.setPageSource((i) => (i === 3 ? page(7) : undefined));
    ram.write(0, 1, 1);
    const snap = ram.beginSnapshot();
    ram.write(3 * PAGE_SIZE, 1, 0); // brought in from the source, then written
    expect(snap.pages()).toEqual([0]);
    expect(snap.readPage(3)).toBeUndefined();
    expect(snap.copiedPages).toBe(0);
    snap.end();
  });
});

describe("RAM baselines (pages kept as at an instant)", () => {
  const page = (fill: number): Uint8Array => new Uint8Array(PAGE_SIZE).fill(fill);

  it("keeps each page's bytes from just before its first write since the instant", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20, initByte: 0x11 });
    ram.writeBytes(0, page(1));
    ram.writeBytes(PAGE_SIZE, page(2));
    const base = ram.keepBaseline();
    expect(base.epoch).toBe(ram.epoch);
    expect(ram.changedSince(base.epoch)).toEqual([]);
    ram.write(0, 1, 0xaa);
    ram.write(1, 1, 0xbb); // a second write keeps nothing more
    ram.write(5 * PAGE_SIZE, 4, 7); // never written before: the init pattern, no copy
    expect(ram.changedSince(base.epoch)).toEqual([0, 5]);
    expect(base.writtenPages()).toEqual([0, 5]);
    expect(base.pageAt(0)).toEqual(page(1));
    expect(base.pageAt(5)).toEqual(page(0x11));
    expect(base.pageAt(1)).toBeUndefined(); // not written since: the RAM's own bytes
    expect(base.keptBytes).toBe(PAGE_SIZE);
    base.end();
    expect(base.pageAt(0)).toBeUndefined();
    ram.write(PAGE_SIZE, 1, 3);
    expect(base.keptBytes).toBe(0);
  });

  it("takes pages from the page source before keeping them; stops copying at maxBytes", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    ram.setPageSource((i) => (i < 4 ? page(40 + i) : undefined));
    const base = ram.keepBaseline(2 * PAGE_SIZE);
    for (let i = 0; i < 4; i++) ram.write(i * PAGE_SIZE, 1, 0xff);
    expect(base.pageAt(0)).toEqual(page(40));
    expect(base.pageAt(1)).toEqual(page(41));
    expect(base.pageAt(2)).toBeUndefined();
    expect(base.missedPages).toBe(2);
    expect(ram.changedSince(base.epoch)).toEqual([0, 1, 2, 3]);
    expect(base.writtenPages()).toEqual([0, 1, 2, 3]);
    base.end();
  });

  it("serves two baselines and a snapshot with one copy, each from its own instant", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    ram.writeBytes(0, page(1));
    ram.writeBytes(PAGE_SIZE, page(2));
    const older = ram.keepBaseline();
    ram.write(0, 1, 9); // page 0 as at `older`'s instant: page(1)
    const snap = ram.beginSnapshot([0, 1]);
    const newer = ram.keepBaseline();
    ram.write(PAGE_SIZE, 1, 8); // first write since both instants: one copy for all three
    ram.write(0, 1, 7);
    expect(older.pageAt(0)).toEqual(page(1));
    expect(older.pageAt(1)).toBe(newer.pageAt(1));
    expect(newer.pageAt(1)).toEqual(page(2));
    const at0 = page(1);
    at0[0] = 9;
    expect(newer.pageAt(0)).toEqual(at0);
    expect(snap.readPage(0)).toEqual(at0);
    expect(snap.readPage(1)).toEqual(page(2));
    snap.end();
    older.end();
    ram.write(2 * PAGE_SIZE, 1, 1);
    expect(newer.pageAt(2)).toEqual(page(0));
    newer.end();
  });

  it("a snapshot of the dirty pages of a 1 GiB RAM copies a listed page before the guest writes it, and only those", () => {
    const ram = new Ram({ base: BASE, size: 1 << 30 });
    const last = ram.pageCount - 1;
    const listed = [5, 70_000, last];
    for (const i of [...listed, 9]) ram.write(i * PAGE_SIZE, 4, 0x11110000 + i);
    for (const i of [...listed, 9]) expect(ram.fastWrite[i]).toBe(1);
    const snap = ram.beginSnapshot(listed);
    // Every page's next write goes through the RAM (the epoch opened), the highest one too.
    for (const i of [...listed, 9]) expect(ram.fastWrite[i]).toBe(0);
    ram.write(70_000 * PAGE_SIZE, 4, 0xdeadbeef);
    ram.write(9 * PAGE_SIZE, 4, 0xdeadbeef);
    ram.write(12 * PAGE_SIZE, 4, 1); // a page allocated after the instant
    expect(snap.copiedPages).toBe(1);
    expect(snap.pages()).toEqual(listed);
    expect(snap.pageCount).toBe(3);
    const word = (p: Uint8Array | undefined): number =>
      new DataView(p!.buffer, p!.byteOffset).getUint32(0, true);
    expect(word(snap.readPage(70_000))).toBe(0x11110000 + 70_000);
    expect(() => snap.readPage(70_000)).toThrow(MemoryError);
    expect(word(snap.readPage(last))).toBe(0x11110000 + last);
    expect(word(snap.readPage(5))).toBe(0x11110000 + 5);
    expect(snap.readPage(9)).toBeUndefined();
    expect(snap.readPage(12)).toBeUndefined();
    snap.end();
    ram.write(5 * PAGE_SIZE, 4, 2);
    expect(snap.copiedPages).toBe(1);
    expect(() => snap.readPage(5)).toThrow(MemoryError);
  });

  it("a snapshot limited to some pages holds only those", () => {
    const ram = new Ram({ base: BASE, size: 1 << 20 });
    for (let i = 0; i < 4; i++) ram.write(i * PAGE_SIZE, 1, i + 1);
    const snap = ram.beginSnapshot([1, 3, 9]);
    expect(snap.pages()).toEqual([1, 3]);
    expect(snap.readPage(0)).toBeUndefined();
    snap.end();
    expect(() => ram.beginSnapshot([3, 1])).toThrow(MemoryError);
  });
});
