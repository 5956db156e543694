/**
 * The boot ROM QEMU's `virt` board runs at 0x1000 with `-bios none`: six instructions
 * that load a0 = mhartid, a1 = device-tree address, a2 = &fw_dynamic_info and jump to
 * the kernel entry read from the words after them. Running it (rather than starting
 * at the entry) keeps instruction counts and register values equal to QEMU's.
 */
export function resetRom(entry: number, fdtAddress: number): Uint8Array {
  const words = [
    0x00000297, // auipc t0, 0
    0x02828613, // addi  a2, t0, 40
    0xf1402573, // csrr  a0, mhartid
    0x0202a583, // lw    a1, 32(t0)
    0x0182a283, // lw    t0, 24(t0)
    0x00028067, // jr    t0
    entry >>> 0, // start address (low, high)
    0,
    fdtAddress >>> 0, // device tree address (low, high)
    0,
    // fw_dynamic_info, which OpenSBI-style firmware reads: magic "OSBI", version 2,
    // next address, next mode (S), options, boot hart.
    0x4942534f,
    2,
    entry >>> 0,
    1,
    0,
    0,
  ];
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, w] of words.entries()) view.setUint32(i * 4, w >>> 0, true);
  return bytes;
}
