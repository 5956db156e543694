/*
 * int-edge: C-level integer edge cases as the compiler and libgcc handle them on RV32.
 *
 * - INT_MIN / -1 and INT_MIN % -1 through volatile operands (compiled to div/rem,
 *   which define the result), division by zero through inline asm (UB in C);
 * - shifts by 0, 31 and by variable amounts, arithmetic right shift of negatives;
 * - unsigned wrap-around, narrowing conversions, plain char being unsigned on RISC-V;
 * - 64-bit arithmetic: multiply, divide and modulo (libgcc __divdi3 & co.), shifts by
 *   0/31/32/33/63, comparisons;
 * - clz/ctz/popcount/bswap, overflow builtins;
 * - printf of extreme values in every integer format.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"

static volatile int32_t v_int_min = INT32_MIN, v_minus_one = -1, v_zero = 0, v_seven = 7;
static volatile uint32_t v_umax = UINT32_MAX;
static volatile int v_shift;

static void division(void)
{
	int32_t q = v_int_min / v_minus_one;	/* UB in C; RISC-V div gives INT_MIN */
	int32_t r = v_int_min % v_minus_one;
	CHECK_EQ("INT_MIN / -1 (div)", q, INT32_MIN);
	CHECK_EQ("INT_MIN % -1 (rem)", r, 0);
	printf("INT_MIN / -1 = %ld, INT_MIN %% -1 = %ld\n", (long)q, (long)r);

	int32_t a = v_seven, z = v_zero, dq, dr;
	__asm__ volatile("div %0, %2, %3\n\trem %1, %2, %3" : "=&r"(dq), "=&r"(dr) : "r"(a), "r"(z));
	CHECK_EQ("7 / 0 (div)", dq, -1);
	CHECK_EQ("7 % 0 (rem)", dr, 7);
	uint32_t uq, ur, ua = v_umax;
	__asm__ volatile("divu %0, %2, %3\n\tremu %1, %2, %3" : "=&r"(uq), "=&r"(ur) : "r"(ua), "r"(z));
	CHECK_EQ("UINT_MAX / 0 (divu)", uq, UINT32_MAX);
	CHECK_EQ("UINT_MAX % 0 (remu)", ur, UINT32_MAX);
	printf("7 / 0 = %ld, 7 %% 0 = %ld (div/rem)\n", (long)dq, (long)dr);

	/* C division truncates toward zero. */
	CHECK_EQ("-7 / 2", (int32_t)(-v_seven / 2), -3);
	CHECK_EQ("-7 % 2", (int32_t)(-v_seven % 2), -1);
	CHECK_EQ("7 / -2", (int32_t)(v_seven / -2), -3);
	CHECK_EQ("7 % -2", (int32_t)(v_seven % -2), 1);
}

static void shifts(void)
{
	uint32_t one = 1;
	int32_t neg = v_int_min;
	CHECK_EQ("1u << 31", one << 31, 0x80000000u);
	CHECK_EQ("INT_MIN >> 31", neg >> 31, -1);
	CHECK_EQ("INT_MIN >> 1", neg >> 1, (int32_t)0xc0000000);
	CHECK_EQ("UINT_MAX >> 31", v_umax >> 31, 1);
	CHECK_EQ("-1 >> 31", (int32_t)v_minus_one >> 31, -1);
	CHECK_EQ("-100 >> 3", (int32_t)-100 >> (v_seven - 4), -13);	/* rounds toward -inf */
	for (v_shift = 0; v_shift < 32; v_shift += 31) {
		CHECK_EQ("0x80000001 >> s", (uint32_t)0x80000001u >> v_shift, v_shift ? 1u : 0x80000001u);
		CHECK_EQ("0x80000001 << s", (uint32_t)0x80000001u << v_shift, v_shift ? 0x80000000u : 0x80000001u);
	}
}

static void wrap_and_convert(void)
{
	uint32_t umax = v_umax;
	CHECK_EQ("UINT_MAX + 1", umax + 1, 0);
	CHECK_EQ("0u - 1", (uint32_t)v_zero - 1u, UINT32_MAX);
	CHECK_EQ("0x10000 * 0x10000", (uint32_t)0x10000u * (uint32_t)(0x10000u + v_zero), 0);
	CHECK_EQ("(uint16_t)0x12345", (uint16_t)(0x12345 + v_zero), 0x2345);
	CHECK_EQ("(int8_t)0x80", (int32_t)(int8_t)(0x80 + v_zero), -128);
	CHECK_EQ("(int16_t)0x8000", (int32_t)(int16_t)(0x8000 + v_zero), -32768);
	CHECK_EQ("(uint8_t)-1", (uint8_t)v_minus_one, 255);
	CHECK_EQ("(int32_t)0xffffffffu", (int32_t)v_umax, -1);
	char c = (char)(0xff + v_zero);
	CHECK("plain char is unsigned on RISC-V" && (int)c == 255);
	printf("CHAR_MIN = %d, CHAR_MAX = %d\n", CHAR_MIN, CHAR_MAX);
	uint32_t m1_as_unsigned = (uint32_t)v_minus_one;
	CHECK("-1 converted to unsigned is the largest" && m1_as_unsigned > (uint32_t)v_zero);
}

static volatile int64_t v64_min = INT64_MIN, v64_max = INT64_MAX, v64_m1 = -1;
static volatile uint64_t v64_umax = UINT64_MAX, v64_big = 1000000000000000000ull;

static void sixty_four(void)
{
	uint64_t a = 0x123456789abcdef0ull, b = 0x0fedcba987654321ull;
	uint64_t umax = v64_umax;
	CHECK_EQ64("u64 mul", a * (b + v_zero), 0x2236d88fe5618cf0ull);
	CHECK_EQ64("u64 add carry", (uint64_t)0xffffffffu + (uint64_t)(1 + v_zero), 0x100000000ull);
	CHECK_EQ64("u64 sub borrow", (uint64_t)0x100000000ull - (uint64_t)(1 + v_zero), 0xffffffffull);
	CHECK_EQ64("UINT64_MAX + 1", umax + 1, 0);
	CHECK_EQ64("u64 div", umax / 3, 0x5555555555555555ull);
	CHECK_EQ64("u64 mod", umax % 1000, 615);
	CHECK_EQ64("1e18 / 7", v64_big / 7, 142857142857142857ull);
	CHECK_EQ64("1e18 % 7", v64_big % 7, 1);
	CHECK_EQ64("s64 div neg", (int64_t)-v64_big / 7, -142857142857142857ll);
	CHECK_EQ64("s64 mod neg", (int64_t)-v64_big % 7, -1);
	CHECK_EQ64("INT64_MIN / 2", v64_min / 2, -4611686018427387904ll);
	CHECK_EQ64("INT64_MAX / -1", v64_max / v64_m1, -INT64_MAX);
	CHECK_EQ64("INT64_MIN % 10", v64_min % 10, -8);
	CHECK_EQ64("s64 mul signs", (int64_t)(-3 + v_zero) * (int64_t)0x100000001ll, -0x300000003ll);

	uint64_t x = 0x8000000000000001ull;
	static const int amounts[] = { 0, 1, 31, 32, 33, 63 };
	static const uint64_t shl[] = { 0x8000000000000001ull, 0x2ull, 0x80000000ull,
					0x100000000ull, 0x200000000ull, 0x8000000000000000ull };
	static const uint64_t shr[] = { 0x8000000000000001ull, 0x4000000000000000ull,
					0x100000000ull, 0x80000000ull, 0x40000000ull, 1ull };
	static const uint64_t sar[] = { 0x8000000000000001ull, 0xc000000000000000ull,
					0xffffffff00000000ull, 0xffffffff80000000ull,
					0xffffffffc0000000ull, 0xffffffffffffffffull };
	for (unsigned i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
		v_shift = amounts[i];
		CHECK_EQ64("u64 << s", x << v_shift, shl[i]);
		CHECK_EQ64("u64 >> s", x >> v_shift, shr[i]);
		CHECK_EQ64("s64 >> s", (uint64_t)((int64_t)x >> v_shift), sar[i]);
	}

	CHECK("INT64_MIN < INT64_MAX" && v64_min < v64_max);
	CHECK("(uint64_t)INT64_MIN > INT64_MAX" && (uint64_t)v64_min > (uint64_t)v64_max);
	CHECK("-1 < 0 (s64)" && v64_m1 < 0);
	CHECK("0x100000000 > 0xffffffff" && (uint64_t)0x100000000ull + v_zero > 0xffffffffull);
}

static void builtins(void)
{
	uint32_t u = 0x00f00000u + (uint32_t)v_zero;
	CHECK_EQ("clz 0x00f00000", __builtin_clz(u), 8);
	CHECK_EQ("ctz 0x00f00000", __builtin_ctz(u), 20);
	CHECK_EQ("clz 1", __builtin_clz(1u + (uint32_t)v_zero), 31);
	CHECK_EQ("popcount 0xf0f0f0f0", __builtin_popcount(0xf0f0f0f0u + (uint32_t)v_zero), 16);
	CHECK_EQ("popcount UINT_MAX", __builtin_popcount(v_umax), 32);
	CHECK_EQ("bswap32", __builtin_bswap32(0x11223344u + (uint32_t)v_zero), 0x44332211u);
	CHECK_EQ64("bswap64", __builtin_bswap64(0x0102030405060708ull + (uint64_t)v_zero),
		   0x0807060504030201ull);
	CHECK_EQ("clzll 1", __builtin_clzll(1ull + (uint64_t)v_zero), 63);
	CHECK_EQ("ctzll 2^40", __builtin_ctzll((1ull << 40) + (uint64_t)v_zero), 40);

	int32_t r32;
	CHECK("INT_MAX + 1 overflows" && __builtin_add_overflow((int32_t)INT32_MAX, 1 + v_zero, &r32));
	CHECK_EQ("wrapped sum", r32, INT32_MIN);
	CHECK("INT_MIN - 1 overflows" && __builtin_sub_overflow(v_int_min, 1, &r32));
	uint32_t ru;
	CHECK("0x10000 * 0x10000 overflows" && __builtin_mul_overflow(0x10000u + (uint32_t)v_zero, 0x10000u, &ru));
	CHECK("46340^2 does not overflow int" && !__builtin_mul_overflow(46340 + v_zero, 46340, &r32));
	CHECK_EQ("46340^2", r32, 2147395600);
	int64_t r64;
	CHECK("INT64_MAX * 2 overflows" && __builtin_mul_overflow(v64_max, (int64_t)2, &r64));
}

static void printing(void)
{
	printf("int:       %d %d %d\n", INT_MIN, INT_MAX, 0);
	printf("unsigned:  %u %u\n", 0u, UINT_MAX);
	printf("hex:       %x %X %#x %#o\n", UINT_MAX, 0xabcdefu, 0u, 8u);
	printf("long:      %ld %ld %lu\n", LONG_MIN, LONG_MAX, ULONG_MAX);
	printf("long long: %lld %lld\n", LLONG_MIN, LLONG_MAX);
	printf("ull:       %llu %llx %#llo\n", ULLONG_MAX, ULLONG_MAX, 01234567012345670123ull);
	printf("short:     %hd %hu %hhd %hhu\n", (short)-32768, (unsigned short)65535, (signed char)-128,
	       (unsigned char)255);
	printf("flags:     [%+d] [% d] [%-6d] [%06d] [%.3d] [%+.0d]\n", 5, 5, -5, -5, 7, 0);
	printf("intmax:    %jd %ju size_t: %zu ptrdiff: %td\n", INTMAX_MIN, UINTMAX_MAX, (size_t)SIZE_MAX,
	       (ptrdiff_t)PTRDIFF_MIN);
	printf("sizes:     char %u short %u int %u long %u long long %u pointer %u\n",
	       (unsigned)sizeof(char), (unsigned)sizeof(short), (unsigned)sizeof(int),
	       (unsigned)sizeof(long), (unsigned)sizeof(long long), (unsigned)sizeof(void *));
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%lld", LLONG_MIN);
	CHECK_EQ("snprintf length of LLONG_MIN", n, 20);
}

int main(void)
{
	division();
	shifts();
	wrap_and_convert();
	sixty_four();
	builtins();
	printing();
	return check_done("int-edge");
}
