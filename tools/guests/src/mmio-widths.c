/*
 * mmio-widths: device registers accessed with other widths than their own: the UART's
 * byte registers with halfword and word loads and stores, the PLIC's and virtio-mmio's
 * word registers with byte and halfword ones.  Prints the value or the trap (cause,
 * whether mtval is the address); the golden output is QEMU's.  Only aligned accesses:
 * QEMU splits a misaligned device access into two aligned ones (half performed before a
 * fault whose mtval is not the address), which Amber does not copy.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"
#include "include/trap.h"

#define UART 0x10000000u
#define PLIC 0x0c000000u
#define VIRTIO1 0x10002000u	/* an empty virtio-mmio slot */

static void load(const char *what, uintptr_t a, int size)
{
	uint32_t at, v = 0xdeadbeef;
	switch (size) {
	case 1: TRAP_EXPECT(at, "lbu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(a), [v] "r"(&v)); break;
	case 2: TRAP_EXPECT(at, "lhu t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(a), [v] "r"(&v)); break;
	default: TRAP_EXPECT(at, "lw t1, 0(%[a])\n\tsw t1, 0(%[v])", [a] "r"(a), [v] "r"(&v)); break;
	}
	(void)at;
	if (trap.count)
		printf("%-34s trap %lu, mtval %s\n", what, (unsigned long)trap.cause,
		       trap.tval == (uint32_t)a ? "= address" : "other");
	else
		printf("%-34s 0x%08lx\n", what, (unsigned long)v);
}

static void store(const char *what, uintptr_t a, int size, uint32_t value)
{
	uint32_t at;
	switch (size) {
	case 1: TRAP_EXPECT(at, "sb %[x], 0(%[a])", [a] "r"(a), [x] "r"(value)); break;
	case 2: TRAP_EXPECT(at, "sh %[x], 0(%[a])", [a] "r"(a), [x] "r"(value)); break;
	default: TRAP_EXPECT(at, "sw %[x], 0(%[a])", [a] "r"(a), [x] "r"(value)); break;
	}
	(void)at;
	if (trap.count)
		printf("%-34s trap %lu, mtval %s\n", what, (unsigned long)trap.cause,
		       trap.tval == (uint32_t)a ? "= address" : "other");
	else
		printf("%-34s done\n", what);
}

int main(void)
{
	trap_install_direct();
	volatile uint8_t *uart = (volatile uint8_t *)UART;
	uart[3] = 0x03;
	uart[7] = 0x5a;

	puts("-- UART (byte registers)");
	load("lw  UART+4 (MCR)", UART + 4, 4);
	load("lhu UART+6 (MSR)", UART + 6, 2);
	load("lw  UART+0 (RBR, nothing received)", UART + 0, 4);
	load("lhu UART+2 (IIR)", UART + 2, 2);
	store("sh  UART+6 = 0xa5c3 (MSR/SCR)", UART + 6, 2, 0xa5c3);
	printf("%-34s 0x%02x\n", "SCR", uart[7]);
	store("sw  UART+4 = 0x1234ff0b (MCR)", UART + 4, 4, 0x1234ff0bu);
	printf("%-34s 0x%02x, SCR 0x%02x\n", "MCR", uart[4], uart[7]);
	uart[4] = 0x08;

	puts("-- PLIC (word registers)");
	*(volatile uint32_t *)(PLIC + 4 * 10) = 3;
	load("lbu priority[10]", PLIC + 40, 1);
	load("lhu priority[10]", PLIC + 40, 2);
	load("lbu priority[10]+1", PLIC + 41, 1);
	store("sb  priority[10] = 5", PLIC + 40, 1, 5);
	store("sh  priority[10] = 6", PLIC + 40, 2, 6);
	printf("%-34s %lu\n", "priority[10]", (unsigned long)*(volatile uint32_t *)(PLIC + 40));
	*(volatile uint32_t *)(PLIC + 4 * 10) = 0;

	puts("-- virtio-mmio (an empty slot)");
	load("lbu magic", VIRTIO1, 1);
	load("lhu magic", VIRTIO1, 2);
	load("lbu magic+1", VIRTIO1 + 1, 1);
	load("lw  magic", VIRTIO1, 4);
	store("sb  status", VIRTIO1 + 0x70, 1, 1);
	load("lw  status", VIRTIO1 + 0x70, 4);

	puts("mmio-widths: done");
	return 0;
}
