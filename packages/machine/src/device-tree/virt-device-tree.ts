import { VIRT } from "../board-layout.js";
import type { FdtNode, PropValue } from "./fdt-writer.js";

export interface VirtTreeOptions {
  ramBase: number;
  ramSize: number;
  /** Kernel command line (`/chosen/bootargs`). */
  bootargs?: string;
  /** Physical [start, end) of an initial ramdisk, if one was loaded. */
  initrd?: { start: number; end: number };
  /** Frequency of the CLINT timer, the `timebase-frequency` (QEMU: 10 MHz). */
  timebaseHz: number;
  /** The ISA string the hart reports. */
  isa: string;
  /** Sv32 support: adds `mmu-type` to the CPU node. */
  mmu?: boolean;
  /** PLIC source of the UART (QEMU's virt: 10). */
  uartIrq: number;
  /** virtio-mmio slots to describe (QEMU's virt: 8, slot i on PLIC source firstIrq+i). */
  virtio?: { count: number; firstIrq: number };
}

const PHANDLE_CPU_INTC = 1;
const PHANDLE_PLIC = 2;
const PHANDLE_TEST = 3;

const node = (name: string, props: [string, PropValue][], children: FdtNode[] = []): FdtNode => ({
  name,
  props,
  children,
});
/** A 64-bit (two-cell) address and size pair, as the virt tree's #address-cells = #size-cells = 2. */
const reg = (base: number, size: number): number[] => [
  Math.floor(base / 2 ** 32),
  base >>> 0,
  Math.floor(size / 2 ** 32),
  size >>> 0,
];
const hex = (n: number): string => n.toString(16);

/** The device tree of Amber's `virt` board, shaped like the one QEMU generates. */
export function virtDeviceTree(o: VirtTreeOptions): FdtNode {
  const chosen: [string, PropValue][] = [["stdout-path", `/soc/serial@${hex(VIRT.uart0.base)}`]];
  if (o.bootargs !== undefined) chosen.push(["bootargs", o.bootargs]);
  if (o.initrd !== undefined) {
    chosen.push(["linux,initrd-start", [0, o.initrd.start >>> 0]]);
    chosen.push(["linux,initrd-end", [0, o.initrd.end >>> 0]]);
  }
  const cpuProps: [string, PropValue][] = [
    ["device_type", "cpu"],
    ["reg", [0]],
    ["status", "okay"],
    ["compatible", "riscv"],
    ["riscv,isa", o.isa],
  ];
  if (o.mmu) cpuProps.push(["mmu-type", "riscv,sv32"]);

  return node(
    "",
    [
      ["#address-cells", [2]],
      ["#size-cells", [2]],
      ["compatible", "riscv-virtio"],
      ["model", "riscv-virtio,qemu"],
    ],
    [
      node("chosen", chosen),
      node(`memory@${hex(o.ramBase)}`, [
        ["device_type", "memory"],
        ["reg", reg(o.ramBase, o.ramSize)],
      ]),
      node(
        "cpus",
        [
          ["#address-cells", [1]],
          ["#size-cells", [0]],
          ["timebase-frequency", [o.timebaseHz]],
        ],
        [
          node("cpu@0", cpuProps, [
            node("interrupt-controller", [
              ["#interrupt-cells", [1]],
              ["interrupt-controller", null],
              ["compatible", "riscv,cpu-intc"],
              ["phandle", [PHANDLE_CPU_INTC]],
            ]),
          ]),
        ],
      ),
      node(
        "soc",
        [
          ["#address-cells", [2]],
          ["#size-cells", [2]],
          ["compatible", "simple-bus"],
          ["ranges", null],
        ],
        [
          node(`test@${hex(VIRT.test.base)}`, [
            ["compatible", ["sifive,test1", "sifive,test0", "syscon"]],
            ["reg", reg(VIRT.test.base, VIRT.test.size)],
            ["phandle", [PHANDLE_TEST]],
          ]),
          node("poweroff", [
            ["compatible", "syscon-poweroff"],
            ["regmap", [PHANDLE_TEST]],
            ["offset", [0]],
            ["value", [0x5555]],
          ]),
          node("reboot", [
            ["compatible", "syscon-reboot"],
            ["regmap", [PHANDLE_TEST]],
            ["offset", [0]],
            ["value", [0x7777]],
          ]),
          node(`serial@${hex(VIRT.uart0.base)}`, [
            ["compatible", "ns16550a"],
            ["reg", reg(VIRT.uart0.base, VIRT.uart0.size)],
            ["clock-frequency", [3686400]],
            ["interrupts", [o.uartIrq]],
            ["interrupt-parent", [PHANDLE_PLIC]],
          ]),
          ...Array.from({ length: o.virtio?.count ?? 0 }, (_, i) => {
            const base = VIRT.virtio.base + i * VIRT.virtio.size;
            return node(`virtio_mmio@${hex(base)}`, [
              ["interrupts", [(o.virtio?.firstIrq ?? 1) + i]],
              ["interrupt-parent", [PHANDLE_PLIC]],
              ["reg", reg(base, VIRT.virtio.size)],
              ["compatible", "virtio,mmio"],
            ]);
          }),
          node(`clint@${hex(VIRT.clint.base)}`, [
            ["compatible", ["sifive,clint0", "riscv,clint0"]],
            ["reg", reg(VIRT.clint.base, VIRT.clint.size)],
            ["interrupts-extended", [PHANDLE_CPU_INTC, 3, PHANDLE_CPU_INTC, 7]],
          ]),
          node(`plic@${hex(VIRT.plic.base)}`, [
            ["compatible", ["sifive,plic-1.0.0", "riscv,plic0"]],
            ["reg", reg(VIRT.plic.base, VIRT.plic.size)],
            ["#address-cells", [0]],
            ["#interrupt-cells", [1]],
            ["interrupt-controller", null],
            ["interrupts-extended", [PHANDLE_CPU_INTC, 11, PHANDLE_CPU_INTC, 9]],
            ["riscv,ndev", [0x5f]],
            ["phandle", [PHANDLE_PLIC]],
          ]),
        ],
      ),
    ],
  );
}
