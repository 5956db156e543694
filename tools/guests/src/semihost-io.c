/*
 * semihost-io: RISC-V semihosting called directly, without picolibc's wrappers.
 *
 * The call (include/semihost.h) is the 12-byte sequence "slli x0, x0, 0x1f; ebreak;
 * srai x0, x0, 7" (uncompressed, 16-byte aligned so it never crosses a page), with the
 * operation number in a0 and the argument (usually a pointer to a block of words) in
 * a1; the result comes back in a0.
 *
 * Checked here: SYS_WRITEC, SYS_WRITE0, SYS_OPEN of ":tt" in the three modes, SYS_WRITE
 * (to ":tt" opened for writing, which QEMU 7.2 sends to its own stdout), SYS_ISTTY,
 * SYS_FLEN, SYS_ISERROR, SYS_ERRNO after failures, SYS_CLOCK, SYS_TIME, SYS_ELAPSED,
 * SYS_TICKFREQ, SYS_HEAPINFO, SYS_GET_CMDLINE, and the ":semihosting-features" file
 * (SYS_OPEN, SYS_FLEN, SYS_READ, SYS_SEEK, SYS_CLOSE) that picolibc reads at exit.
 * Host-dependent results (times, the command line, whether the host's stdout is a
 * terminal or a file) are only checked for plausibility, never printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "include/check.h"
#include "include/semihost.h"

#define SYS_OPEN      0x01
#define SYS_CLOSE     0x02
#define SYS_WRITEC    0x03
#define SYS_WRITE0    0x04
#define SYS_WRITE     0x05
#define SYS_READ      0x06
#define SYS_ISERROR   0x08
#define SYS_ISTTY     0x09
#define SYS_SEEK      0x0a
#define SYS_FLEN      0x0c
#define SYS_CLOCK     0x10
#define SYS_TIME      0x11
#define SYS_ERRNO     0x13
#define SYS_GET_CMDLINE 0x15
#define SYS_HEAPINFO  0x16
#define SYS_ELAPSED   0x30
#define SYS_TICKFREQ  0x31

/* Open modes: index into "r", "rb", "r+", "r+b", "w", "wb", "w+", "w+b", "a", ... */
#define MODE_R  0
#define MODE_RB 1
#define MODE_W  4
#define MODE_A  8

static long sh_open(const char *name, long mode)
{
	long blk[3] = { (long)name, mode, (long)strlen(name) };
	return semihost(SYS_OPEN, blk);
}

static long sh1(long op, long a)
{
	long blk[1] = { a };
	return semihost(op, blk);
}

extern char __bss_end[];	/* from link.ld: the end of the loaded image */

static void console(void)
{
	/* SYS_WRITEC takes a pointer to the character. */
	const char *s = "SYS_WRITEC\n";
	for (const char *p = s; *p; p++)
		semihost(SYS_WRITEC, p);
	semihost(SYS_WRITE0, "SYS_WRITE0: a NUL-terminated string\n");
	printf("printf after direct calls\n");
}

static void tt(void)
{
	long in = sh_open(":tt", MODE_R);
	long out = sh_open(":tt", MODE_W);
	long err = sh_open(":tt", MODE_A);
	CHECK(in >= 0 && out >= 0 && err >= 0);
	CHECK(in != out && out != err && in != err);

	/* SYS_WRITE returns the number of bytes NOT written. */
	static const char msg[] = "semihost-io: SYS_WRITE to :tt (host stdout)\n";
	long blk[3] = { out, (long)msg, (long)(sizeof msg - 1) };
	CHECK_EQ("SYS_WRITE to :tt returns 0", semihost(SYS_WRITE, blk), 0);
	blk[2] = 0;
	CHECK_EQ("SYS_WRITE of 0 bytes returns 0", semihost(SYS_WRITE, blk), 0);

	/* Whether :tt is a terminal depends on the host: only 0 or 1 is valid. */
	long istty = sh1(SYS_ISTTY, out);
	CHECK(istty == 0 || istty == 1);
	/* SYS_FLEN on :tt: the value depends on the host; just make the call. */
	(void)sh1(SYS_FLEN, out);

	CHECK_EQ("SYS_CLOSE :tt (w)", sh1(SYS_CLOSE, out), 0);
	CHECK_EQ("SYS_CLOSE :tt (a)", sh1(SYS_CLOSE, err), 0);
	CHECK_EQ("SYS_CLOSE :tt (r)", sh1(SYS_CLOSE, in), 0);
	printf(":tt: opened in modes r, w, a; written; closed\n");
}

static void errors(void)
{
	long h = sh_open("/nonexistent-amber-dir/no-such-file", MODE_RB);
	CHECK_EQ("SYS_OPEN of a missing file", h, -1);
	long e = semihost(SYS_ERRNO, 0);
	CHECK_EQ("SYS_ERRNO after it (ENOENT)", e, 2);
	printf("SYS_OPEN missing file: %ld, SYS_ERRNO: %ld\n", h, e);

	long r = sh1(SYS_CLOSE, 1234);
	CHECK_EQ("SYS_CLOSE of a bad handle", r, -1);
	e = semihost(SYS_ERRNO, 0);
	CHECK_EQ("SYS_ERRNO after it (EBADF)", e, 9);
	printf("SYS_CLOSE bad handle: %ld, SYS_ERRNO: %ld\n", r, e);

	CHECK_EQ("SYS_ISERROR(-1)", sh1(SYS_ISERROR, -1) != 0, 1);
	CHECK_EQ("SYS_ISERROR(0)", sh1(SYS_ISERROR, 0), 0);
	CHECK_EQ("SYS_ISERROR(5)", sh1(SYS_ISERROR, 5), 0);
}

static void features(void)
{
	long h = sh_open(":semihosting-features", MODE_RB);
	CHECK(h >= 0);
	long len = sh1(SYS_FLEN, h);
	uint8_t b[8] = { 0 };
	long blk[3] = { h, (long)b, 8 };
	long notread = semihost(SYS_READ, blk);
	printf(":semihosting-features: length %ld, read %ld bytes: %02x %02x %02x %02x %02x\n", len,
	       8 - notread, b[0], b[1], b[2], b[3], b[4]);
	CHECK_EQ("features length", len, 5);
	CHECK_EQ("SYS_READ returns bytes not read", notread, 3);
	CHECK(memcmp(b, "SHFB", 4) == 0);
	CHECK_EQ("feature byte: EXIT_EXTENDED | STDOUT_STDERR", b[4], 3);

	long seek[2] = { h, 4 };
	CHECK_EQ("SYS_SEEK", semihost(SYS_SEEK, seek), 0);
	blk[2] = 4;
	memset(b, 0, sizeof b);
	notread = semihost(SYS_READ, blk);
	CHECK_EQ("read after seek: 3 of 4 not read", notread, 3);
	CHECK_EQ("read after seek: byte", b[0], 3);
	notread = semihost(SYS_READ, blk);
	CHECK_EQ("read at EOF: nothing read", notread, 4);
	CHECK_EQ("SYS_CLOSE features", sh1(SYS_CLOSE, h), 0);
}

static void clocks(void)
{
	long c0 = semihost(SYS_CLOCK, 0);
	long t0 = semihost(SYS_TIME, 0);
	uint32_t e0[2] = { 0, 0 }, e1[2] = { 0, 0 };
	long r0 = semihost(SYS_ELAPSED, e0);
	volatile uint32_t spin = 0;
	for (int i = 0; i < 100000; i++)
		spin += (uint32_t)i;
	long c1 = semihost(SYS_CLOCK, 0);
	long t1 = semihost(SYS_TIME, 0);
	long r1 = semihost(SYS_ELAPSED, e1);
	long freq = semihost(SYS_TICKFREQ, 0);
	uint64_t el0 = ((uint64_t)e0[1] << 32) | e0[0], el1 = ((uint64_t)e1[1] << 32) | e1[0];

	CHECK("SYS_CLOCK succeeds" && c0 >= 0 && c1 >= 0);
	CHECK("SYS_CLOCK monotonic" && c1 >= c0);
	CHECK("SYS_TIME succeeds" && t0 != -1 && t1 != -1);
	CHECK("SYS_TIME monotonic" && (unsigned long)t1 >= (unsigned long)t0);
	CHECK("SYS_ELAPSED succeeds" && r0 == 0 && r1 == 0);
	CHECK("SYS_ELAPSED monotonic" && el1 >= el0);
	CHECK("SYS_TICKFREQ positive" && freq > 0);
	printf("clocks: SYS_CLOCK, SYS_TIME, SYS_ELAPSED succeed and do not go back; SYS_TICKFREQ > 0\n");
}

static void heapinfo(void)
{
	uint32_t info[4] = { 0, 0, 0, 0 };
	uint32_t *p = info;
	long r = semihost(SYS_HEAPINFO, &p);	/* the argument block holds a pointer */
	CHECK_EQ("SYS_HEAPINFO returns 0", r, 0);
	printf("SYS_HEAPINFO: heap base = end of image: %s, heap limit 0x%08lx, stack base 0x%08lx, "
	       "stack limit = heap base: %s\n",
	       info[0] == (uint32_t)__bss_end ? "yes" : "no", (unsigned long)info[1],
	       (unsigned long)info[2], info[3] == info[0] ? "yes" : "no");
}

static void cmdline(void)
{
	char buf[256];
	memset(buf, 0x55, sizeof buf);
	long blk[2] = { (long)buf, (long)sizeof buf };
	long r = semihost(SYS_GET_CMDLINE, blk);
	CHECK_EQ("SYS_GET_CMDLINE returns 0", r, 0);
	CHECK("SYS_GET_CMDLINE length < buffer" && blk[1] >= 0 && blk[1] < (long)sizeof buf);
	CHECK("SYS_GET_CMDLINE NUL-terminated at its length" && buf[blk[1]] == 0);
	CHECK("SYS_GET_CMDLINE length = strlen" && (long)strlen(buf) == blk[1]);
	printf("SYS_GET_CMDLINE: succeeded (contents not printed)\n");
}

int main(void)
{
	console();
	tt();
	errors();
	features();
	clocks();
	heapinfo();
	cmdline();
	return check_done("semihost-io");
}
