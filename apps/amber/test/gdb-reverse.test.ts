import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCheckpoint } from "@amber/checkpoint";
import { beforeAll, describe, expect, test } from "vitest";
import { hostTool } from "../../../tools/test-support/host-tool.js";
import { gdbSession } from "./gdb-session.js";
import { runCli } from "./run-cli.js";

const ELF = "tools/guests/out/rv32imac/strings.elf";
const FN = "check_true_";
const LINUX = "tools/guests/linux/out/";

/** The text gdb printed between `echo ==NAME==` and the next marker. */
function section(out: string, name: string): string {
  const start = out.indexOf(`==${name}==`);
  if (start < 0) throw new Error(`no section ${name} in gdb's output:\n${out}`);
  const rest = out.slice(start + name.length + 4);
  const end = rest.indexOf("==");
  return end < 0 ? rest : rest.slice(0, end);
}

const STATE = [
  "info registers",
  "info registers mstatus mepc mcause priv",
  "x/16wx $sp",
  "x/8wx &check_total",
];

describe.skipIf(!hostTool("gdb-multiarch"))("gdb-multiarch debugging a guest over amber run --gdb", () => {
  test("breakpoints, registers, disassembly, watchpoints and reverse execution on the strings guest", async () => {
    const r = await gdbSession(
      ["run", ELF],
      [
        `break ${FN}`,
        "continue",
        "echo ==regs==\\n",
        "info registers",
        "info registers mstatus misa priv",
        "echo ==disas==\\n",
        "x/8i $pc",
        "echo ==second==\\n",
        "continue",
        "p *(unsigned int *)&check_total",
        "echo ==back==\\n",
        "reverse-continue",
        "p *(unsigned int *)&check_total",
        "stepi 2",
        "delete",
        "echo ==finish==\\n",
        "reverse-finish",
        "p $pc",
        "echo ==before==\\n",
        ...STATE,
        "echo ==reverse==\\n",
        "reverse-stepi 100",
        "p $pc",
        "echo ==forward==\\n",
        "stepi 100",
        "echo ==after==\\n",
        ...STATE,
        "echo ==watch==\\n",
        "watch *(unsigned int *)&check_total",
        "continue",
        "continue",
        "p $pc",
        "echo ==rwatch==\\n",
        "reverse-continue",
        "p $pc",
        "echo ==end==\\n",
        "delete",
      ],
      ELF,
    );
    const out = r.gdb;
    // The breakpoint by symbol, the registers gdb names from the target description.
    expect(out).toMatch(
      /Breakpoint 1 at 0x800003b0\n(?:.*\n)?Breakpoint 1, 0x800003b0 in check_true_ \(\)\n==regs==/,
    );
    expect(section(out, "regs")).toMatch(/^pc\s+0x800003b0\s+0x800003b0 <check_true_\+10>/m);
    expect(section(out, "regs")).toMatch(/^a4\s+0x80006000/m);
    expect(section(out, "regs")).toMatch(/^misa\s+0x40141105/m);
    expect(section(out, "regs")).toMatch(/^priv\s+0x3\s+prv:3 \[Machine\]/m);
    // gdb's own disassembly of the bytes it read: 8 instructions from pc.
    const disas = section(out, "disas").trim().split("\n");
    expect(disas).toHaveLength(8);
    expect(disas[0]).toMatch(/^=> 0x800003b0 <check_true_\+10>:\s+sw\s+a5,36\(a4\)/);
    expect(disas[7]).toMatch(/^ {3}0x800003c4 <check_true_\+30>:\s+lui\s+a0,0x80005/);
    // The second call (one check counted), and reverse-continue back to the first (none yet).
    expect(section(out, "second")).toMatch(/Breakpoint 1, 0x800003b0[\s\S]*\$1 = 1\n/);
    expect(section(out, "back")).toMatch(/Breakpoint 1, 0x800003b0[\s\S]*\$2 = 0\n/);
    // reverse-finish: back out of check_true_ to its call in heap (the jal right before).
    expect(section(out, "finish")).toMatch(/\$3 = .*<heap\+\d+>/);
    // 100 steps back and 100 forward: the same registers, CSRs and memory.
    expect(section(out, "reverse")).not.toMatch(/No more reverse-execution history/);
    expect(section(out, "after")).toBe(section(out, "before"));
    expect(section(out, "before")).toMatch(/^sp\s+0x8/m);
    // A write watchpoint on xs_state, then reverse-continue to the write before it.
    // A write watchpoint on check_total: forward, gdb is left after the store (the second
    // check); reverse-continue goes back to before that store.
    expect(section(out, "watch")).toMatch(
      /Old value = 1\nNew value = 2\n0x800003b4 in check_true_ \(\)\n\$5 = .*<check_true_\+14>/,
    );
    expect(section(out, "rwatch")).toMatch(
      /Old value = 2\nNew value = 1\n0x800003b0 in check_true_ \(\)\n\$6 = .*<check_true_\+10>/,
    );
    expect(r.guestOut).toContain("heap: small, aligned");
    expect(r.status).toBe(0);
  }, 240_000);

  test("the Linux MMU kernel: breakpoints at kernel functions (System.map), S-mode registers, reverse execution", async () => {
    // The Linux build keeps System.map, not vmlinux: gdb gets the functions' addresses from it.
    const map = readFileSync(`${LINUX}System.map-mmu`, "utf8");
    const symbol = (name: string): string => {
      const m = new RegExp(`^([0-9a-f]{8}) [tT] ${name}$`, "m").exec(map);
      if (m === null) throw new Error(`${name} is not in System.map-mmu`);
      return m[1]!;
    };
    const startKernel = symbol("start_kernel");
    const printk = symbol("_printk");
    const r = await gdbSession(
      ["run", "--kernel", `${LINUX}Image-mmu`, "--bios", `${LINUX}firmware.elf`],
      [
        `break *0x${startKernel}`,
        "continue",
        "echo ==start==\\n",
        "info registers pc priv satp",
        "x/2i $pc",
        `break *0x${printk}`,
        "continue",
        "p/x $ra",
        "continue",
        "p/x $ra",
        "echo ==back==\\n",
        "reverse-continue",
        "p/x $ra",
        "echo ==before==\\n",
        ...STATE.slice(0, 3),
        "echo ==reverse==\\n",
        "delete",
        "reverse-stepi 100",
        "stepi 100",
        "echo ==after==\\n",
        ...STATE.slice(0, 3),
        "echo ==end==\\n",
        "kill",
      ],
    );
    const out = r.gdb;
    expect(section(out, "start")).toMatch(new RegExp(`^pc\\s+0x${startKernel}`, "m"));
    // Supervisor mode with Sv32 paging on: the kernel's virtual addresses are read through it.
    expect(section(out, "start")).toMatch(/^priv\s+0x1\s+prv:1 \[Supervisor\]/m);
    expect(section(out, "start")).toMatch(/^satp\s+0x8[0-9a-f]{7}/m);
    expect(section(out, "start")).toMatch(new RegExp(`=> 0x${startKernel}:\\s+\\S+`));
    const ras = [...out.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => m[1]);
    expect(ras).toHaveLength(3);
    // reverse-continue lands on the previous _printk call: the caller of the first one.
    expect(ras[2]).toBe(ras[0]);
    expect(section(out, "reverse")).not.toMatch(/No more reverse-execution history|Breakpoint/);
    expect(section(out, "after")).toBe(section(out, "before"));
    expect(r.status).toBe(0);
  }, 240_000);

  test("a machine with a virtio-blk disk goes back in time, disk included: the re-run read sees the sector as it was", async () => {
    const DISK_ELF = "tools/guests/out/rv32imac/disk.elf";
    // The guest's one function for a virtio request (request.constprop.0 in disk.objdump).
    const requests = (n: number) => [
      "break *0x8000038e",
      ...Array.from({ length: n }, () => "continue"),
      "delete",
    ];
    const r = await gdbSession(
      ["run", "--disk", "tools/guests/out/disk.img,format=raw", DISK_ELF],
      [
        // Five requests in: sector 5 was written, then read back into `back`.
        ...requests(5),
        "echo ==late==\\n",
        "x/s &back",
        // Back to the start: the disk's write is undone with the rest of the machine.
        "echo ==back==\\n",
        "reverse-continue",
        "echo ==early==\\n",
        // Three requests in: the guest has read sector 5 before writing it.
        ...requests(3),
        "x/s &back",
        "echo ==end==\\n",
        "continue",
      ],
      DISK_ELF,
    );
    expect(section(r.gdb, "late")).toMatch(/<back>:\s+"written by the disk guest/);
    expect(section(r.gdb, "back")).toMatch(/No more reverse-execution history/);
    expect(section(r.gdb, "early")).toMatch(/<back>:\s+"Amber disk sector 005\\n/);
    expect(section(r.gdb, "end")).toMatch(/exited normally/);
    // Run once, rewound and run again: the console shows what QEMU prints, once.
    expect(r.guestOut).toBe(readFileSync("tools/guests/out/rv32imac/disk.stdout", "utf8"));
    expect(r.status).toBe(0);
  }, 240_000);

  test("hardware breakpoints and watchpoints are as many as the hart's triggers: two", async () => {
    const r = await gdbSession(
      ["run", ELF],
      [
        "hbreak check_true_",
        "watch *(unsigned int *)&check_total",
        "hbreak heap",
        "echo ==three==\\n",
        "continue",
        "echo ==two==\\n",
        "delete 3",
        "continue",
        "p $pc",
        "echo ==end==\\n",
        "kill",
      ],
      ELF,
    );
    // A third is refused when gdb inserts them, and gdb says why; with two, they work.
    expect(section(r.gdb, "three")).toMatch(/Could not insert hardware breakpoint/);
    expect(section(r.gdb, "two")).toMatch(
      /Breakpoint 1, 0x800003b0 in check_true_ \(\)\n\$1 = .*<check_true_\+10>/,
    );
    expect(r.status).toBe(0);
  }, 240_000);

  beforeAll(async () => {
    await initCheckpoint();
  });

  test("amber resume IMAGE --gdb: history starts at the image's instant", async () => {
    const dir = mkdtempSync(join(tmpdir(), "amber-gdb-"));
    try {
      const image = join(dir, "at5000.amber");
      const saved = runCli(["run", ELF, "--save-at", "5000", "--save-to", image, "--halt-after-save"]);
      expect(saved.status).toBe(0);
      const r = await gdbSession(
        ["resume", image],
        [
          "echo ==start==\\n",
          "info registers pc",
          "echo ==forward==\\n",
          "stepi 3",
          "reverse-stepi 3",
          "echo ==back==\\n",
          "info registers pc",
          "echo ==end==\\n",
          "reverse-stepi",
          "echo ==done==\\n",
        ],
        ELF,
      );
      expect(section(r.gdb, "back")).toBe(section(r.gdb, "start"));
      expect(section(r.gdb, "end")).toMatch(/No more reverse-execution history/);
      // gdb detached at the end: the guest ran on to its end.
      expect(r.guestOut).toContain("strtok_r: [alpha] [beta] [gamma]");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  test("a guest that exits under gdb ends the run with its status", async () => {
    const r = await gdbSession(["run", ELF], ["continue"], ELF);
    expect(r.gdb).toMatch(/\[Inferior 1 \(Remote target\) exited normally\]/);
    expect(r.guestOut).toContain("strtok_r: [alpha] [beta] [gamma]");
    expect(r.status).toBe(0);
  }, 240_000);
});
