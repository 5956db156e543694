import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { TIMEBASE_HZ, VIRT, virtDeviceTree, writeFdt } from "../src/index.js";

const hasDtc = hostTool("dtc");

function blob(bootargs?: string): Uint8Array {
  return writeFdt(
    virtDeviceTree({
      ramBase: VIRT.ram.base,
      ramSize: 128 << 20,
      bootargs,
      timebaseHz: TIMEBASE_HZ,
      isa: "rv32imac_zicsr_zifencei",
      uartIrq: 10,
      initrd: { start: 0x8400_0000, end: 0x8400_1000 },
    }),
  );
}

describe("the generated device tree", () => {
  it("starts with the FDT header: magic, total size, version 17", () => {
    const b = blob();
    const v = new DataView(b.buffer);
    expect(v.getUint32(0)).toBe(0xd00dfeed);
    expect(v.getUint32(4)).toBe(b.length);
    expect(v.getUint32(20)).toBe(17);
    expect(v.getUint32(24)).toBe(16);
  });

  // .ci/run installs Debian's device-tree-compiler; on a machine without it this check cannot run.
  it.runIf(hasDtc)("decompiles with dtc into the board QEMU describes", () => {
    const dts = execFileSync("dtc", ["-I", "dtb", "-O", "dts", "-q"], {
      input: blob("console=ttyS0 earlycon"),
    }).toString();
    expect(dts).toContain('bootargs = "console=ttyS0 earlycon";');
    expect(dts).toContain('stdout-path = "/soc/serial@10000000";');
    expect(dts).toMatch(
      /memory@80000000 \{\s*device_type = "memory";\s*reg = <0x00 0x80000000 0x00 0x8000000>;/,
    );
    expect(dts).toContain("timebase-frequency = <0x989680>;");
    expect(dts).toContain('riscv,isa = "rv32imac_zicsr_zifencei";');
    expect(dts).toMatch(/serial@10000000 \{[^}]*compatible = "ns16550a";[^}]*interrupts = <0x0a>;/);
    expect(dts).toMatch(/clint@2000000 \{[^}]*interrupts-extended = <0x01 0x03 0x01 0x07>;/);
    expect(dts).toMatch(/plic@c000000 \{[^}]*riscv,ndev = <0x5f>;/);
    expect(dts).toContain('compatible = "sifive,test1\\0sifive,test0\\0syscon";');
    expect(dts).toContain("linux,initrd-start = <0x00 0x84000000>;");
  });
});
