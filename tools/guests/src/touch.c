/*
 * touch: a guest that touches a given amount of RAM, for the resident-memory benchmark
 * (tools/bench/checkpoint/rss.mjs): `touch MIB` writes MIB MiB of data from 16 MiB into RAM
 * up (a word pattern that differs on every page), reads it back and prints its checksum.
 * The stack and the program lie below 16 MiB (build.sh links it with its stack there), so
 * the RAM touched is the data, the program and its stack: run it with --ram of at least
 * 16 MiB + MIB + 1 MiB (the device tree at the top). Without an argument it touches 1 MiB.
 * Then it computes for about ten million instructions on 4 KiB, so that even with nothing
 * touched the machine runs long enough to compile its code (as any guest doing work does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DATA ((volatile uint32_t *)0x81000000u)

static uint32_t table[1024];

int main(int argc, char **argv)
{
	/* argv[1] is the program's name (QEMU and Amber both give it before the arguments). */
	unsigned long mib = argc > 2 ? strtoul(argv[2], 0, 10) : 1;
	uint32_t words = (uint32_t)(mib << 18);
	uint32_t x = 0x9e3779b9u;
	for (uint32_t i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		DATA[i] = x + (i >> 10);
	}
	uint32_t sum = 0;
	for (uint32_t i = 0; i < words; i++)
		sum = (sum << 1 | sum >> 31) ^ DATA[i];
	for (uint32_t r = 0; r < 1500000; r++) {
		x = x * 1664525u + 1013904223u;
		table[x >> 22] += r ^ sum;
	}
	for (uint32_t i = 0; i < 1024; i++)
		sum += table[i];
	printf("touched %lu MiB, checksum %08lx\n", mib, (unsigned long)sum);
	return 0;
}
