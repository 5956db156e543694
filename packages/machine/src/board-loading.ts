import { Board, TIMEBASE_HZ, UART_IRQ, VIRTIO_IRQ } from "./board.js";
import { VIRT } from "./board-layout.js";
import { writeFdt } from "./device-tree/fdt-writer.js";
import { virtDeviceTree } from "./device-tree/virt-device-tree.js";
import { type ElfImage, parseElf } from "./elf.js";
import { MachineError } from "./machine-error.js";
import { resetRom } from "./reset-rom.js";

/** The board plus what puts programs on it: ELF executables, or kernels as QEMU's `-kernel` does. */
export class LoadingBoard extends Board {
  /** Loads an ELF executable into RAM and points the boot ROM at its entry. */
  loadElf(bytes: Uint8Array, name = "program"): ElfImage {
    const image = parseElf(bytes, name);
    this.placeSegments(image, name);
    this.finishBoot(image.entry);
    return image;
  }

  /**
   * Boots a kernel as QEMU's `-kernel K [-bios F] [-initrd I]` does: firmware (ELF or
   * raw) at the start of RAM, the kernel (ELF or raw Image) at the next 4 MiB boundary
   * after it (or at the start of RAM without firmware), the initrd halfway into RAM
   * (at most 128 MiB after the kernel), the device tree at the top. The boot ROM jumps
   * to the firmware, or straight to the kernel.
   */
  loadKernel(
    kernel: Uint8Array,
    options: {
      firmware?: Uint8Array;
      initrd?: Uint8Array;
      names?: { kernel?: string; firmware?: string; initrd?: string };
    } = {},
  ): void {
    const names = { kernel: "kernel", firmware: "firmware", initrd: "initrd", ...options.names };
    let entry: number;
    let kernelStart = this.ram.base;
    if (options.firmware !== undefined) {
      entry = this.placeImage(options.firmware, this.ram.base, names.firmware);
      kernelStart = Math.ceil(this.imageEnd / (4 << 20)) * (4 << 20);
      this.placeImage(kernel, kernelStart, names.kernel);
    } else {
      entry = this.placeImage(kernel, kernelStart, names.kernel);
      kernelStart = entry;
    }
    if (options.initrd !== undefined) {
      const start = kernelStart + Math.min(this.ram.size / 2, 128 << 20);
      this.placeBytes(options.initrd, start, names.initrd);
      this.initrd = { start, end: start + options.initrd.length };
    }
    this.finishBoot(entry);
  }

  /** Places an ELF (by its segments) or a raw binary at `rawAddress`; returns its entry. */
  protected placeImage(bytes: Uint8Array, rawAddress: number, name: string): number {
    if (
      bytes.length >= 4 &&
      bytes[0] === 0x7f &&
      bytes[1] === 0x45 &&
      bytes[2] === 0x4c &&
      bytes[3] === 0x46
    ) {
      const image = parseElf(bytes, name);
      this.placeSegments(image, name);
      return image.entry;
    }
    this.placeBytes(bytes, rawAddress, name);
    return rawAddress;
  }

  protected placeBytes(bytes: Uint8Array, address: number, name: string): void {
    this.checkInRam(address, bytes.length, `${name}: ${bytes.length} bytes at 0x${address.toString(16)}`);
    this.ram.writeBytes(address - this.ram.base, bytes);
    this.imageEnd = Math.max(this.imageEnd, address + bytes.length);
  }

  protected checkInRam(address: number, length: number, what: string): void {
    const ramStart = this.ram.base;
    const ramEnd = this.ram.base + this.ram.size;
    if (address < ramStart || address + length > ramEnd) {
      throw new MachineError(
        "OUTSIDE_RAM",
        `${what} lies outside RAM [0x${ramStart.toString(16)}, 0x${ramEnd.toString(16)})`,
      );
    }
  }

  protected placeSegments(image: ElfImage, name: string): void {
    for (const [i, seg] of image.segments.entries()) {
      this.checkInRam(
        seg.paddr,
        seg.memSize,
        `${name}: segment ${i} at 0x${seg.paddr.toString(16)} (${seg.memSize} bytes)`,
      );
    }
    for (const seg of image.segments) {
      const offset = seg.paddr - this.ram.base;
      this.ram.writeBytes(offset, seg.fileBytes);
      const bss = seg.memSize - seg.fileBytes.length;
      if (bss > 0) this.ram.writeBytes(offset + seg.fileBytes.length, new Uint8Array(bss));
      this.imageEnd = Math.max(this.imageEnd, seg.paddr + seg.memSize);
    }
  }

  /** Writes the device tree and points the boot ROM at `entry`. */
  protected finishBoot(entry: number): void {
    const rom = resetRom(entry, this.placeDeviceTree());
    this.mrom().set(rom);
    this.hart.flushDecodeCache();
  }

  /**
   * Writes the board's device tree where QEMU puts it (the top of RAM, 2 MiB-aligned
   * below the end, or right below the end for small RAM); returns its address.
   */
  protected placeDeviceTree(): number {
    const fdt = writeFdt(
      virtDeviceTree({
        ramBase: this.ram.base,
        ramSize: this.ram.size,
        bootargs: this.bootargs,
        initrd: this.initrd,
        timebaseHz: TIMEBASE_HZ,
        isa: "rv32imac_zicsr_zifencei",
        uartIrq: UART_IRQ,
        virtio: { count: VIRT.virtio.count, firstIrq: VIRTIO_IRQ },
      }),
    );
    const end = this.ram.base + this.ram.size;
    const aligned = Math.floor((end - fdt.length) / (2 << 20)) * (2 << 20);
    const at =
      aligned >= this.ram.base + this.ram.size / 2 ? aligned : Math.floor((end - fdt.length) / 16) * 16;
    this.ram.writeBytes(at - this.ram.base, fdt);
    this.fdtAddress = at;
    return at;
  }

  /** Address of the device tree handed to the guest in a1 (0 before a program is loaded). */
  get deviceTreeAddress(): number {
    return this.fdtAddress;
  }
}
