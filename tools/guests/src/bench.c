/*
 * bench: a deterministic CPU-heavy guest (integer only) that prints checksums.
 *
 * Each round runs
 *   - a sieve of Eratosthenes over SIEVE_N bytes,
 *   - CRC-32 (bitwise, no table) over a 16 KiB xorshift-generated buffer,
 *   - a 32x32 int32 matrix multiply (wrapping),
 *   - a heap sort of 4096 words,
 * and folds everything into one checksum.  BENCH_ROUNDS sets the size; build.sh makes
 *   bench        (BENCH_ROUNDS=120: a few G instructions, a couple of seconds in QEMU)
 *   bench-short  (BENCH_ROUNDS=1: a few tens of M instructions, for tests).
 * The same C compiled for the host prints the same lines (nothing here depends on the
 * architecture): `cc -O2 -DBENCH_ROUNDS=1 bench.c && ./a.out`.
 *
 * With -DBENCH_REPORT_INSTRET (RISC-V only) the program also prints minstret at the
 * end; run it under `qemu-system-riscv32 -icount shift=0,sleep=off` to count
 * instructions (see README).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef BENCH_ROUNDS
#define BENCH_ROUNDS 1
#endif

#define SIEVE_N (1u << 18)
#define CRC_LEN (16u * 1024u)
#define MAT_N 32
#define SORT_N 4096

static uint8_t sieve[SIEVE_N];
static uint8_t crcbuf[CRC_LEN];
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];
static uint32_t sortbuf[SORT_N];

static uint32_t xs_state;

static uint32_t xorshift32(void)
{
	uint32_t x = xs_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return xs_state = x;
}

static uint32_t run_sieve(uint32_t n)
{
	memset(sieve, 1, n);
	sieve[0] = sieve[1] = 0;
	for (uint32_t i = 2; i * i < n; i++)
		if (sieve[i])
			for (uint32_t j = i * i; j < n; j += i)
				sieve[j] = 0;
	uint32_t count = 0, sum = 0;
	for (uint32_t i = 0; i < n; i++)
		if (sieve[i]) {
			count++;
			sum += i;
		}
	return count ^ (sum << 7);
}

static uint32_t crc32(const uint8_t *p, uint32_t len)
{
	uint32_t crc = 0xffffffffu;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint32_t run_matmul(void)
{
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			ma[i][j] = (int32_t)(xorshift32() % 2001u) - 1000;
			mb[i][j] = (int32_t)(xorshift32() % 2001u) - 1000;
		}
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			int32_t s = 0;
			for (int k = 0; k < MAT_N; k++)
				s += ma[i][k] * mb[k][j];
			mc[i][j] = s;
		}
	uint32_t h = 2166136261u;			/* FNV-1a over the result */
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			h ^= (uint32_t)mc[i][j];
			h *= 16777619u;
		}
	return h;
}

static void sift_down(uint32_t *a, uint32_t start, uint32_t end)
{
	uint32_t root = start;
	while (2 * root + 1 <= end) {
		uint32_t child = 2 * root + 1, swap = root;
		if (a[swap] < a[child])
			swap = child;
		if (child + 1 <= end && a[swap] < a[child + 1])
			swap = child + 1;
		if (swap == root)
			return;
		uint32_t t = a[root];
		a[root] = a[swap];
		a[swap] = t;
		root = swap;
	}
}

static uint32_t run_sort(void)
{
	for (uint32_t i = 0; i < SORT_N; i++)
		sortbuf[i] = xorshift32();
	for (uint32_t start = SORT_N / 2; start-- > 0;)
		sift_down(sortbuf, start, SORT_N - 1);
	for (uint32_t end = SORT_N - 1; end > 0; end--) {
		uint32_t t = sortbuf[0];
		sortbuf[0] = sortbuf[end];
		sortbuf[end] = t;
		sift_down(sortbuf, 0, end - 1);
	}
	uint32_t ok = 1, h = 0;
	for (uint32_t i = 0; i < SORT_N; i++) {
		if (i && sortbuf[i - 1] > sortbuf[i])
			ok = 0;
		h = (h * 31u) ^ sortbuf[i];
	}
	return ok ? h : 0xbad5047u;
}

#ifdef BENCH_REPORT_INSTRET
static uint64_t instret(void)
{
	uint32_t hi, lo, hi2;
	do {
		__asm__ volatile(".option push\n\t.option arch, +zicsr\n\t"
				 "csrr %0, minstreth\n\tcsrr %1, minstret\n\tcsrr %2, minstreth\n\t.option pop"
				 : "=r"(hi), "=r"(lo), "=r"(hi2));
	} while (hi != hi2);
	return ((uint64_t)hi << 32) | lo;
}
#endif

int main(void)
{
	uint32_t total = 0, s = 0, c = 0, m = 0, q = 0;

	xs_state = 2463534242u;
	for (uint32_t round = 0; round < BENCH_ROUNDS; round++) {
		s = run_sieve(SIEVE_N - round * 16u);
		for (uint32_t i = 0; i < CRC_LEN; i++)
			crcbuf[i] = (uint8_t)xorshift32();
		c = crc32(crcbuf, CRC_LEN);
		m = run_matmul();
		q = run_sort();
		total = (total ^ s) * 0x9e3779b1u;
		total = (total ^ c) * 0x9e3779b1u;
		total = (total ^ m) * 0x9e3779b1u;
		total = (total ^ q) * 0x9e3779b1u;
	}
	printf("bench: %u rounds\n", (unsigned)BENCH_ROUNDS);
	printf("last round: sieve %08lx crc32 %08lx matmul %08lx sort %08lx\n", (unsigned long)s,
	       (unsigned long)c, (unsigned long)m, (unsigned long)q);
	printf("checksum: %08lx\n", (unsigned long)total);
#ifdef BENCH_REPORT_INSTRET
	printf("minstret at end of main: %llu\n", (unsigned long long)instret());
#endif
	return 0;
}
