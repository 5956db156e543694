/*
 * reset-state: the machine state a guest finds when its first instruction runs.
 *
 * QEMU virt with -bios none starts the hart at 0x1000 in a small ROM that loads
 *   a0 = mhartid, a1 = address of the device tree (in RAM), a2 = address of a
 *   fw_dynamic_info block (in the ROM), t0 = the ELF entry point,
 * and jumps to the entry.  This program's entry (reset_entry, linked first, at
 * 0x80000000, and made the ELF entry with -e) saves every register and a few CSRs
 * before picolibc's crt0 runs, then prints them together with the ROM words and
 * the fw_dynamic_info block.  Only the device tree's magic is checked, not its
 * contents.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/riscv.h"

/* Saved by reset_entry: x0..x31, then the CSRs listed in csr_names. In .data, which
 * crt0 "copies" onto itself, so the values survive (.bss would be cleared). */
#define NCSR 15
uint32_t reset_regs[32 + NCSR] __attribute__((section(".data"))) = { 1 };

static const char *const csr_names[NCSR] = {
	"mstatus", "misa", "medeleg", "mideleg", "mie", "mip", "mtvec", "mscratch",
	"mepc", "mcause", "mtval", "mcounteren", "satp", "pmpcfg0", "pmpaddr0",
};

__asm__(
	".pushsection .text.amber.reset, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".option norelax\n"
	".option arch, +zicsr\n"
	".globl reset_entry\n"
	"reset_entry:\n"
	"	csrw sscratch, t0\n"		/* keep t0 while it is the base register */
	"	lla t0, reset_regs\n"
	"	sw x0, 0(t0)\n"
	"	sw x1, 4(t0)\n"
	"	sw x2, 8(t0)\n"
	"	sw x3, 12(t0)\n"
	"	sw x4, 16(t0)\n"
	"	sw x6, 24(t0)\n"
	"	sw x7, 28(t0)\n"
	"	sw x8, 32(t0)\n"
	"	sw x9, 36(t0)\n"
	"	sw x10, 40(t0)\n"
	"	sw x11, 44(t0)\n"
	"	sw x12, 48(t0)\n"
	"	sw x13, 52(t0)\n"
	"	sw x14, 56(t0)\n"
	"	sw x15, 60(t0)\n"
	"	sw x16, 64(t0)\n"
	"	sw x17, 68(t0)\n"
	"	sw x18, 72(t0)\n"
	"	sw x19, 76(t0)\n"
	"	sw x20, 80(t0)\n"
	"	sw x21, 84(t0)\n"
	"	sw x22, 88(t0)\n"
	"	sw x23, 92(t0)\n"
	"	sw x24, 96(t0)\n"
	"	sw x25, 100(t0)\n"
	"	sw x26, 104(t0)\n"
	"	sw x27, 108(t0)\n"
	"	sw x28, 112(t0)\n"
	"	sw x29, 116(t0)\n"
	"	sw x30, 120(t0)\n"
	"	sw x31, 124(t0)\n"
	"	csrr t1, sscratch\n"
	"	sw t1, 20(t0)\n"
	"	csrw sscratch, zero\n"
	"	csrr t1, mstatus\n	sw t1, 128(t0)\n"
	"	csrr t1, misa\n		sw t1, 132(t0)\n"
	"	csrr t1, medeleg\n	sw t1, 136(t0)\n"
	"	csrr t1, mideleg\n	sw t1, 140(t0)\n"
	"	csrr t1, mie\n		sw t1, 144(t0)\n"
	"	csrr t1, mip\n		sw t1, 148(t0)\n"
	"	csrr t1, mtvec\n	sw t1, 152(t0)\n"
	"	csrr t1, mscratch\n	sw t1, 156(t0)\n"
	"	csrr t1, mepc\n		sw t1, 160(t0)\n"
	"	csrr t1, mcause\n	sw t1, 164(t0)\n"
	"	csrr t1, mtval\n	sw t1, 168(t0)\n"
	"	csrr t1, mcounteren\n	sw t1, 172(t0)\n"
	"	csrr t1, satp\n		sw t1, 176(t0)\n"
	"	csrr t1, pmpcfg0\n	sw t1, 180(t0)\n"
	"	csrr t1, pmpaddr0\n	sw t1, 184(t0)\n"
	"	j _start\n"
	".option pop\n"
	".popsection\n");

extern char reset_entry[];

static const char *const abi[32] = {
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
	"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static uint32_t be32(const volatile uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int main(void)
{
	CHECK_EQ("reset_entry is at the start of RAM", (uint32_t)reset_entry, 0x80000000u);

	printf("registers at the entry point (all others are 0):\n");
	for (int i = 0; i < 32; i++)
		if (reset_regs[i])
			printf("  x%-2d %-4s = 0x%08lx\n", i, abi[i], (unsigned long)reset_regs[i]);
	printf("CSRs at the entry point:\n");
	for (int i = 0; i < NCSR; i++)
		printf("  %-10s = 0x%08lx\n", csr_names[i], (unsigned long)reset_regs[32 + i]);

	CHECK_EQ("a0 = mhartid", reset_regs[10], CSR_READ(mhartid));
	CHECK_EQ("t0 = entry", reset_regs[5], (uint32_t)reset_entry);

	/* The reset ROM at 0x1000: code, then data words. */
	const volatile uint32_t *rom = (const volatile uint32_t *)0x1000u;
	printf("ROM at 0x1000:\n");
	for (int i = 0; i < 16; i += 4)
		printf("  0x%04x: %08lx %08lx %08lx %08lx\n", 0x1000 + 4 * i, (unsigned long)rom[i],
		       (unsigned long)rom[i + 1], (unsigned long)rom[i + 2], (unsigned long)rom[i + 3]);
	CHECK_EQ("ROM start address word = entry", rom[6], (uint32_t)reset_entry);
	CHECK_EQ("ROM fdt address word = a1", rom[8], reset_regs[11]);

	/* a2: struct fw_dynamic_info { magic, version, next_addr, next_mode, options, boot_hart } */
	const volatile uint32_t *info = (const volatile uint32_t *)reset_regs[12];
	printf("fw_dynamic_info at a2: magic 0x%08lx version %lu next_addr 0x%08lx next_mode %lu "
	       "options %lu boot_hart %lu\n",
	       (unsigned long)info[0], (unsigned long)info[1], (unsigned long)info[2],
	       (unsigned long)info[3], (unsigned long)info[4], (unsigned long)info[5]);

	/* a1: a flattened device tree (only its magic is checked). */
	const volatile uint8_t *fdt = (const volatile uint8_t *)reset_regs[11];
	CHECK_EQ("device tree magic at a1", be32(fdt), 0xd00dfeedu);
	printf("device tree at a1: magic 0x%08lx\n", (unsigned long)be32(fdt));

	return check_done("reset-state");
}
