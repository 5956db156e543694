/*
 * disk-console: a disk driven from the console, one command per line, for interactive
 * sessions (Amber's REPL and its monitor's :disks / :disk-trace). The virtio-blk device in
 * slot 0 is set up as in disk.c; the console is the UART (no semihosting), and waiting for
 * a line sleeps in wfi (the UART's receive interrupt ends it; no trap is taken), so an
 * emulator sees the guest idle, waiting for input.
 *
 *   r N          print sector N's first bytes (up to a NUL or newline, at most 40)
 *   w N TEXT     write TEXT (zero-padded) to sector N
 *   q            power off (exit 0)
 *
 * Needs tools/guests/out/disk.img attached as in disk.c. build.sh records QEMU's output
 * for the commands in src/disk-console.stdin.
 */
#include <stdint.h>
#include <string.h>

#define SLOT0 0x10001000UL
#define REG(off) (*(volatile uint32_t *)(SLOT0 + (off)))
enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008,
	DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
	INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
	QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
	QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4,
	CONFIG = 0x100,
};
enum { T_IN = 0, T_OUT = 1 };
#define QN 8

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct avail { uint16_t flags; uint16_t idx; uint16_t ring[QN]; uint16_t used_event; };
struct used_elem { uint32_t id; uint32_t len; };
struct used { uint16_t flags; uint16_t idx; struct used_elem ring[QN]; uint16_t avail_event; };
struct req { uint32_t type; uint32_t reserved; uint64_t sector; };

static struct desc desc[QN] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct req req;
static uint8_t sector[512];
static volatile uint8_t status;
static uint16_t used_seen;
/* Initialized data: link.ld lays .bss out after a non-empty .data (an empty one misplaces it). */
char disk_prompt[] = "disk> ";

#define UART(off) (*(volatile uint8_t *)(0x10000000u + (off)))
#define PLIC(off) (*(volatile uint32_t *)(0x0c000000u + (off)))
#define UART_IRQ 10
#define FINISHER (*(volatile uint32_t *)0x00100000u)

static void putc_(char c) {
	while (!(UART(5) & 0x20)) {}
	UART(0) = (uint8_t)c;
}
static void puts_(const char *s) {
	while (*s) putc_(*s++);
}
static void putu(uint32_t n) {
	char b[11];
	int i = 10;
	b[i] = 0;
	do b[--i] = (char)('0' + n % 10); while ((n /= 10) != 0);
	puts_(b + i);
}

static int getc_(void) {
	for (;;) {
		if (UART(5) & 0x01) return UART(0);
		__asm__ volatile("wfi" ::: "memory");
		uint32_t id = PLIC(0x200004);
		if (id != 0) PLIC(0x200004) = id;
	}
}

static int request(uint32_t type, uint32_t n) {
	req = (struct req){ type, 0, n };
	status = 0xff;
	desc[0] = (struct desc){ (uintptr_t)&req, sizeof req, 1, 1 };
	desc[1] = (struct desc){ (uintptr_t)sector, 512, (uint16_t)(1 | (type == T_IN ? 2 : 0)), 2 };
	desc[2] = (struct desc){ (uintptr_t)&status, 1, 2, 0 };
	avail.ring[avail.idx % QN] = 0;
	__sync_synchronize();
	avail.idx++;
	__sync_synchronize();
	REG(QUEUE_NOTIFY) = 0;
	while (*(volatile uint16_t *)&used.idx == used_seen) {}
	__sync_synchronize();
	used_seen++;
	REG(INTERRUPT_ACK) = REG(INTERRUPT_STATUS);
	return status;
}

static uint32_t number(const char **p) {
	uint32_t n = 0;
	while (**p == ' ') (*p)++;
	while (**p >= '0' && **p <= '9') n = n * 10 + (uint32_t)(*(*p)++ - '0');
	return n;
}

int main(void) {
	if (REG(MAGIC) != 0x74726976 || REG(VERSION) != 2 || REG(DEVICE_ID) != 2) {
		puts_("no virtio 1.x block device in slot 0\n");
		return 1;
	}
	REG(STATUS) = 0;
	REG(STATUS) = 1 | 2;
	REG(DRIVER_FEATURES_SEL) = 1;
	REG(DRIVER_FEATURES) = 1; /* VIRTIO_F_VERSION_1 */
	REG(DRIVER_FEATURES_SEL) = 0;
	REG(DRIVER_FEATURES) = 0;
	REG(STATUS) = 1 | 2 | 8;
	REG(QUEUE_SEL) = 0;
	REG(QUEUE_NUM) = QN;
	REG(QUEUE_DESC_LOW) = (uintptr_t)desc;
	REG(QUEUE_DESC_HIGH) = 0;
	REG(QUEUE_DRIVER_LOW) = (uintptr_t)&avail;
	REG(QUEUE_DRIVER_HIGH) = 0;
	REG(QUEUE_DEVICE_LOW) = (uintptr_t)&used;
	REG(QUEUE_DEVICE_HIGH) = 0;
	REG(QUEUE_READY) = 1;
	REG(STATUS) = 1 | 2 | 8 | 4;
	uint32_t sectors = REG(CONFIG);

	/* The UART's receive interrupt through the PLIC to mie.MEIE, mstatus.MIE left 0. */
	UART(1) = 0x01;
	PLIC(4 * UART_IRQ) = 1;
	PLIC(0x2000) |= 1u << UART_IRQ;
	PLIC(0x200000) = 0;
	__asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrs mie, %0\n\t.option pop" ::"r"(1u << 11) : "memory");

	puts_("disk console: ");
	putu(sectors);
	puts_(" sectors (r N, w N TEXT, q)\n");
	static char line[128];
	for (;;) {
		puts_(disk_prompt);
		int len = 0;
		for (;;) {
			int c = getc_();
			if (c == '\r' || c == '\n') {
				if (len == 0) continue;
				break;
			}
			if (len < (int)sizeof line - 1) line[len++] = (char)c;
		}
		line[len] = 0;
		const char *p = line + 1;
		if (line[0] == 'q') break;
		uint32_t n = number(&p);
		if ((line[0] != 'r' && line[0] != 'w') || n >= sectors) {
			puts_("? (r N, w N TEXT, q; N < ");
			putu(sectors);
			puts_(")\n");
			continue;
		}
		if (line[0] == 'w') {
			if (*p == ' ') p++;
			memset(sector, 0, sizeof sector);
			memcpy(sector, p, strlen(p));
			int s = request(T_OUT, n);
			puts_("wrote sector ");
			putu(n);
			puts_(s == 0 ? "\n" : ": error\n");
		} else {
			int s = request(T_IN, n);
			puts_("sector ");
			putu(n);
			puts_(s == 0 ? ": " : ": error ");
			for (int i = 0; i < 40 && sector[i] != 0 && sector[i] != '\n'; i++) putc_((char)sector[i]);
			putc_('\n');
		}
	}
	puts_("bye\n");
	FINISHER = 0x5555; /* pass: power off, exit 0 */
	for (;;) {}
}
