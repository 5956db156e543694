/*
 * Amber init: the /init of the project's Linux guests — a tiny shell on the console.
 *
 * Freestanding RV32 C: no C library.  From the kernel's tools/include/nolibc it takes
 * only std.h (types) and arch-riscv.h (the startup code _start, the my_syscallN()
 * macros, the O_* flags): nolibc 6.1's other headers all pull in its sys.h, whose
 * wrappers name syscalls rv32 does not have (gettimeofday, lseek, newfstatat, ppoll,
 * wait4, ...) and so do not compile for rv32.  Every system call is made directly
 * with the installed UAPI numbers.  No 64-bit division is needed, so no libgcc.
 *
 * Commands: echo ARGS | ls [DIR] | cat FILE... | uptime | uname | count N | boottime |
 *           memfill MIB | sleep SECONDS | help | poweroff | reboot
 */
#include "std.h"
#include "arch-riscv.h"

#include <asm/unistd.h>
#include <linux/reboot.h>
#include <linux/time_types.h>
#include <linux/utsname.h>

#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif
#define CLOCK_BOOTTIME 7

/* ---- the few string functions (GCC may also call memset/memcpy itself) ------- */

void *memset(void *dst, int c, size_t n)
{
	char *d = dst;

	while (n--)
		*d++ = c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

static size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

/* ---- system calls ---------------------------------------------------------- */

static long sys_read(int fd, void *buf, size_t n) { return my_syscall3(__NR_read, fd, buf, n); }
static long sys_write(int fd, const void *buf, size_t n) { return my_syscall3(__NR_write, fd, buf, n); }
static int sys_open(const char *path, int flags) { return my_syscall4(__NR_openat, AT_FDCWD, path, flags, 0); }
static int sys_close(int fd) { return my_syscall1(__NR_close, fd); }
static long sys_getdents64(int fd, void *buf, size_t n) { return my_syscall3(__NR_getdents64, fd, buf, n); }
static int sys_mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data)
{
	return my_syscall5(__NR_mount, src, dst, type, flags, data);
}
static int sys_mkdir(const char *path, int mode) { return my_syscall3(__NR_mkdirat, AT_FDCWD, path, mode); }
static int sys_uname(struct new_utsname *u) { return my_syscall1(__NR_uname, u); }
static int sys_clock_gettime64(int clk, struct __kernel_timespec *ts)
{
	return my_syscall2(__NR_clock_gettime64, clk, ts);
}
static void sys_sync(void) { my_syscall0(__NR_sync); }
static long sys_mmap_anon(unsigned long len)
{
	/* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS */
	return my_syscall6(__NR_mmap2, 0, len, 3, 0x22, -1, 0);
}
static int sys_munmap(long addr, unsigned long len) { return my_syscall2(__NR_munmap, addr, len); }
static int sys_nanosleep(const struct __kernel_timespec *ts)
{
	return my_syscall4(__NR_clock_nanosleep_time64, 1 /* CLOCK_MONOTONIC */, 0, ts, 0);
}
static int sys_reboot(unsigned int cmd)
{
	return my_syscall4(__NR_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, 0);
}

/* ---- output ---------------------------------------------------------------- */

static void put(const char *s) { sys_write(1, s, strlen(s)); }

static void put_u32(unsigned int v)
{
	char buf[11];
	int i = sizeof(buf);

	buf[--i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put(buf + i);
}

static void put_err(const char *cmd, const char *what, long err)
{
	put(cmd);
	put(": ");
	put(what);
	put(": error ");
	put_u32((unsigned int)-err);
	put("\n");
}

/* ---- commands -------------------------------------------------------------- */

static int cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			put(" ");
		put(argv[i]);
	}
	put("\n");
	return 0;
}

static int cmd_cat(int argc, char **argv)
{
	static char buf[1024];

	if (argc < 2) {
		put("usage: cat FILE...\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		int fd = sys_open(argv[i], O_RDONLY);
		long n;

		if (fd < 0) {
			put_err("cat", argv[i], fd);
			continue;
		}
		while ((n = sys_read(fd, buf, sizeof(buf))) > 0)
			sys_write(1, buf, n);
		if (n < 0)
			put_err("cat", argv[i], n);
		sys_close(fd);
	}
	return 0;
}

struct dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Names in directory order, skipping dot files, packed into lines of at most 72 columns. */
static int cmd_ls(int argc, char **argv)
{
	static char buf[2048];
	const char *dir = argc > 1 ? argv[1] : "/";
	int fd = sys_open(dir, O_RDONLY | O_DIRECTORY);
	int col = 0;
	long n;

	if (fd < 0) {
		put_err("ls", dir, fd);
		return 1;
	}
	while ((n = sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int len = strlen(d->d_name);

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			if (col && col + 1 + len > 72) {
				put("\n");
				col = 0;
			}
			if (col) {
				put(" ");
				col++;
			}
			put(d->d_name);
			if (d->d_type == 4 /* DT_DIR */) {
				put("/");
				col++;
			}
			col += len;
		}
	}
	if (col)
		put("\n");
	if (n < 0)
		put_err("ls", dir, n);
	sys_close(fd);
	return 0;
}

static int cmd_uptime(int argc, char **argv)
{
	struct __kernel_timespec ts;
	int r = sys_clock_gettime64(CLOCK_BOOTTIME, &ts);

	(void)argc;
	(void)argv;
	if (r < 0) {
		put_err("uptime", "clock_gettime64", r);
		return 1;
	}
	unsigned int cs = (unsigned int)ts.tv_nsec / 10000000;	/* centiseconds */
	put("up ");
	put_u32((unsigned int)ts.tv_sec);
	put(cs < 10 ? ".0" : ".");
	put_u32(cs);
	put(" s\n");
	return 0;
}

/* The machine timer (mtime, ticks since reset) when the first prompt was printed: a
 * boot-cost figure independent of the host (on QEMU `virt` the timer runs at 10 MHz,
 * so with -icount shift=0 one tick is 100 instructions).
 * MMU build (-DUSER_RDTIME): the time CSR (and instret), readable in U-mode because
 * the firmware sets scounteren as OpenSBI does.  nommu build (-DUSER_MTIME_MMIO): Linux in
 * M-mode leaves mcounteren alone but opens all memory to U-mode with PMP and maps
 * nothing, so the CLINT's mtime register at 0x0200bff8 is read directly. */
static unsigned int first_prompt_lo, first_prompt_hi;
#ifdef USER_RDTIME
static unsigned int first_prompt_instret_lo, first_prompt_instret_hi;
#endif

static void note_first_prompt(void)
{
	unsigned int hi, lo, hi2;

#ifdef USER_RDTIME	/* instret too (scounteren.IR): exact under -icount and on Amber */
	do {
		__asm__ volatile ("rdinstreth %0" : "=r"(hi));
		__asm__ volatile ("rdinstret %0" : "=r"(lo));
		__asm__ volatile ("rdinstreth %0" : "=r"(hi2));
	} while (hi != hi2);
	first_prompt_instret_lo = lo;
	first_prompt_instret_hi = hi;
#endif

	do {
#if defined(USER_RDTIME)
		__asm__ volatile ("rdtimeh %0" : "=r"(hi));
		__asm__ volatile ("rdtime %0" : "=r"(lo));
		__asm__ volatile ("rdtimeh %0" : "=r"(hi2));
#elif defined(USER_MTIME_MMIO)
		hi = *(volatile unsigned int *)0x0200bffc;
		lo = *(volatile unsigned int *)0x0200bff8;
		hi2 = *(volatile unsigned int *)0x0200bffc;
#else
		hi = lo = hi2 = 0;
#endif
	} while (hi != hi2);
	first_prompt_lo = lo;
	first_prompt_hi = hi;
}

static void put_u64(unsigned int hi, unsigned int lo)
{
	if (hi) {
		put_u32(hi);
		put(" * 2^32 + ");
	}
	put_u32(lo);
}

static int cmd_boottime(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	put("first prompt at mtime = ");
	put_u64(first_prompt_hi, first_prompt_lo);
	put(" ticks");
#ifdef USER_RDTIME
	put(", instret = ");
	put_u64(first_prompt_instret_hi, first_prompt_instret_lo);
#endif
	put("\n");
	return 0;
}

static int cmd_uname(int argc, char **argv)
{
	struct new_utsname u;

	(void)argc;
	(void)argv;
	if (sys_uname(&u) < 0)
		return 1;
	put(u.sysname); put(" "); put(u.release); put(" "); put(u.version);
	put(" "); put(u.machine); put("\n");
	return 0;
}

/* argv[1] as a decimal number; -1 (after a message) when it is missing or not one. */
static long number_arg(int argc, char **argv, const char *usage)
{
	unsigned long n = 0;
	const char *p = argc > 1 ? argv[1] : "";

	if (!*p) {
		put(usage);
		return -1;
	}
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000000) {
			put(argv[0]);
			put(": not a number: ");
			put(argv[1]);
			put("\n");
			return -1;
		}
		n = n * 10 + (*p - '0');
	}
	return n;
}

static int cmd_count(int argc, char **argv)
{
	long n = number_arg(argc, argv, "usage: count N\n");

	if (n < 0)
		return 1;
	for (unsigned int i = 1; i <= (unsigned long)n; i++) {
		put_u32(i);
		put("\n");
	}
	return 0;
}

/*
 * memfill MIB: maps MIB MiB of anonymous memory, writes every word of it (xorshift32, so
 * the data does not compress), and unmaps it: the pages go back to the kernel's free lists
 * holding that data (what free page reporting lets a host drop).
 */
static int cmd_memfill(int argc, char **argv)
{
	long mib = number_arg(argc, argv, "usage: memfill MIB\n");

	if (mib < 0)
		return 1;
	if (mib == 0 || mib > 2047) {
		put("memfill: MIB must be 1..2047\n");
		return 1;
	}
	unsigned long len = (unsigned long)mib << 20;
	long p = sys_mmap_anon(len);
	if (p < 0 && p > -4096) {
		put_err("memfill", "mmap", p);
		return 1;
	}
	unsigned int *w = (unsigned int *)p, x = 2463534242u;
	for (unsigned long i = 0; i < len / 4; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		w[i] = x;
	}
	int r = sys_munmap(p, len);
	if (r < 0) {
		put_err("memfill", "munmap", r);
		return 1;
	}
	put("memfill: wrote and freed ");
	put_u32(mib);
	put(" MiB\n");
	return 0;
}

/* sleep SECONDS: clock_nanosleep on CLOCK_MONOTONIC. */
static int cmd_sleep(int argc, char **argv)
{
	long s = number_arg(argc, argv, "usage: sleep SECONDS\n");

	if (s < 0)
		return 1;
	struct __kernel_timespec ts = { .tv_sec = s, .tv_nsec = 0 };
	int r = sys_nanosleep(&ts);
	if (r < 0) {
		put_err("sleep", "clock_nanosleep", r);
		return 1;
	}
	return 0;
}

static int cmd_poweroff(int argc, char **argv)
{
	(void)argc;
	sys_sync();
	int r = sys_reboot(argv[0][0] == 'r' ? LINUX_REBOOT_CMD_RESTART : LINUX_REBOOT_CMD_POWER_OFF);
	put_err(argv[0], "reboot", r);
	return 1;
}

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "echo", cmd_echo, "echo ARGS     print the arguments" },
	{ "ls", cmd_ls, "ls [DIR]      list a directory (default /)" },
	{ "cat", cmd_cat, "cat FILE...   print files, e.g. /proc/cpuinfo" },
	{ "uptime", cmd_uptime, "uptime        seconds since boot" },
	{ "uname", cmd_uname, "uname         kernel name, release, version, machine" },
	{ "count", cmd_count, "count N       print 1 to N" },
	{ "boottime", cmd_boottime, "boottime      timer ticks since reset at the first prompt" },
	{ "memfill", cmd_memfill, "memfill MIB   write MIB MiB of fresh memory, then free it" },
	{ "sleep", cmd_sleep, "sleep SECONDS wait" },
	{ "help", cmd_help, "help          this list" },
	{ "poweroff", cmd_poweroff, "poweroff      power the machine off" },
	{ "reboot", cmd_poweroff, "reboot        restart the machine" },
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		put(commands[i].help);
		put("\n");
	}
	return 0;
}

/* ---- the shell ------------------------------------------------------------- */

#define MAX_ARGS 16

static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			*p++ = 0;
		if (!*p)
			break;
		if (argc == MAX_ARGS)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
	}
	argv[argc] = 0;
	return argc;
}

int main(void)
{
	static char line[256];
	char *argv[MAX_ARGS + 1];

	sys_mkdir("/proc", 0555);
	int r = sys_mount("proc", "/proc", "proc", 0, 0);
	if (r < 0)
		put_err("init", "mount /proc", r);

	put("\nAmber init shell on ");
	cmd_uname(0, 0);
	put("Type 'help' for the commands.\n");

	note_first_prompt();
	for (;;) {
		put("amber# ");
		long n = sys_read(0, line, sizeof(line) - 1);
		if (n <= 0) {		/* end of input (^D) or an error: prompt again */
			put("\n");
			continue;
		}
		line[n] = 0;
		int argc = split(line, argv);
		if (!argc)
			continue;
		unsigned int i;
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[0], commands[i].name))
				break;
		if (i < sizeof(commands) / sizeof(commands[0]))
			commands[i].fn(argc, argv);
		else {
			put(argv[0]);
			put(": unknown command (try 'help')\n");
		}
	}
}
