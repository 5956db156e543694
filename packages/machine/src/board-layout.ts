/** Addresses of QEMU's `virt` board for riscv32, which Amber's board mirrors. */
export const VIRT = {
  mrom: { base: 0x0000_1000, size: 0xf000 },
  test: { base: 0x0010_0000, size: 0x1000 },
  clint: { base: 0x0200_0000, size: 0x1_0000 },
  plic: { base: 0x0c00_0000, size: 0x60_0000 },
  uart0: { base: 0x1000_0000, size: 0x100 },
  virtio: { base: 0x1000_1000, size: 0x1000, count: 8 },
  ram: { base: 0x8000_0000 },
} as const;

/** Default RAM size, as QEMU's `virt`. */
export const DEFAULT_RAM_SIZE = 128 * 1024 * 1024;
