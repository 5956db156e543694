/*
 * disk: drives virtio-mmio block device 0 (0x10001000, PLIC source 1) by hand, as a
 * legacy-free virtio 1.x driver would: checks an empty slot, negotiates VIRTIO_F_VERSION_1,
 * sets up one split virtqueue, reads sector 0, writes sector 5, reads it back, and checks
 * the error statuses. Needs tools/guests/out/disk.img (64 KiB, made by build.sh) attached as
 *   -global virtio-mmio.force-legacy=false
 *   -drive file=out/disk.img,if=none,format=raw,id=d0,snapshot=on
 *   -device virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0
 * (on Amber: amber run --disk tools/guests/out/disk.img disk.elf). Output on semihosting.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SLOT(n) (0x10001000UL + (n) * 0x1000UL)
#define REG(n, off) (*(volatile uint32_t *)(SLOT(n) + (off)))
#define PLIC_PENDING (*(volatile uint32_t *)0x0c001000UL)

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
	DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
	DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
	QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
	QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
	QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4,
	CONFIG = 0x100,
};
enum { S_ACKNOWLEDGE = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8 };
enum { T_IN = 0, T_OUT = 1 };
#define QN 8
#define F_BLK_SIZE 6

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct avail { uint16_t flags; uint16_t idx; uint16_t ring[QN]; uint16_t used_event; };
struct used_elem { uint32_t id; uint32_t len; };
struct used { uint16_t flags; uint16_t idx; struct used_elem ring[QN]; uint16_t avail_event; };
struct req { uint32_t type; uint32_t reserved; uint64_t sector; };

static struct desc desc[QN] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct req req;
static uint8_t buf[512], back[512];
static volatile uint8_t status;
static uint16_t used_seen;

static uint32_t sum(const uint8_t *p, int n) {
	uint32_t s = 0;
	for (int i = 0; i < n; i++) s = s * 31 + p[i];
	return s;
}

/* One request: header, data, status; polls the used ring. Returns the status byte. */
static int request(uint32_t type, uint64_t sector, uint8_t *data, uint32_t len) {
	req.type = type;
	req.reserved = 0;
	req.sector = sector;
	status = 0xff;
	desc[0] = (struct desc){ (uintptr_t)&req, sizeof req, 1, 1 };
	desc[1] = (struct desc){ (uintptr_t)data, len, (uint16_t)(1 | (type == T_IN ? 2 : 0)), 2 };
	desc[2] = (struct desc){ (uintptr_t)&status, 1, 2, 0 };
	avail.ring[avail.idx % QN] = 0;
	__sync_synchronize();
	avail.idx++;
	__sync_synchronize();
	REG(0, QUEUE_NOTIFY) = 0;
	while (*(volatile uint16_t *)&used.idx == used_seen) {}
	__sync_synchronize();
	struct used_elem e = used.ring[used_seen % QN];
	used_seen++;
	printf("  used: id %lu len %lu\n", (unsigned long)e.id, (unsigned long)e.len);
	return status;
}

int main(void) {
	printf("slot 1 (empty): magic %08lx version %lu device %lu\n", (unsigned long)REG(1, MAGIC),
	       (unsigned long)REG(1, VERSION), (unsigned long)REG(1, DEVICE_ID));
	printf("slot 0: magic %08lx version %lu device %lu vendor %08lx\n", (unsigned long)REG(0, MAGIC),
	       (unsigned long)REG(0, VERSION), (unsigned long)REG(0, DEVICE_ID), (unsigned long)REG(0, VENDOR_ID));
	if (REG(0, MAGIC) != 0x74726976 || REG(0, VERSION) != 2 || REG(0, DEVICE_ID) != 2) {
		printf("no virtio 1.x block device in slot 0\n");
		return 1;
	}

	REG(0, STATUS) = 0;
	REG(0, STATUS) = S_ACKNOWLEDGE;
	REG(0, STATUS) = S_ACKNOWLEDGE | S_DRIVER;
	REG(0, DEVICE_FEATURES_SEL) = 1;
	uint32_t f1 = REG(0, DEVICE_FEATURES);
	REG(0, DEVICE_FEATURES_SEL) = 0;
	uint32_t f0 = REG(0, DEVICE_FEATURES);
	printf("offers VERSION_1 %lu BLK_SIZE %lu\n", (unsigned long)(f1 & 1), (unsigned long)((f0 >> F_BLK_SIZE) & 1));
	REG(0, DRIVER_FEATURES_SEL) = 1;
	REG(0, DRIVER_FEATURES) = 1; /* VIRTIO_F_VERSION_1 */
	REG(0, DRIVER_FEATURES_SEL) = 0;
	REG(0, DRIVER_FEATURES) = 0;
	REG(0, STATUS) = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK;
	printf("features ok %lu\n", (unsigned long)((REG(0, STATUS) & S_FEATURES_OK) != 0));

	REG(0, QUEUE_SEL) = 0;
	printf("queue 0 max >= %d: %d, ready %lu\n", QN, REG(0, QUEUE_NUM_MAX) >= QN, (unsigned long)REG(0, QUEUE_READY));
	REG(0, QUEUE_NUM) = QN;
	REG(0, QUEUE_DESC_LOW) = (uintptr_t)desc;
	REG(0, QUEUE_DESC_HIGH) = 0;
	REG(0, QUEUE_DRIVER_LOW) = (uintptr_t)&avail;
	REG(0, QUEUE_DRIVER_HIGH) = 0;
	REG(0, QUEUE_DEVICE_LOW) = (uintptr_t)&used;
	REG(0, QUEUE_DEVICE_HIGH) = 0;
	REG(0, QUEUE_READY) = 1;
	REG(0, STATUS) = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
	printf("status %02lx\n", (unsigned long)REG(0, STATUS));

	uint32_t cap_lo = REG(0, CONFIG + 0), cap_hi = REG(0, CONFIG + 4);
	printf("capacity %lu:%lu sectors\n", (unsigned long)cap_hi, (unsigned long)cap_lo);

	int s = request(T_IN, 0, buf, 512);
	printf("read sector 0: status %d, first bytes \"%.16s\", sum %08lx\n", s, (const char *)buf, (unsigned long)sum(buf, 512));
	printf("interrupt status %lu, PLIC source 1 pending %lu\n", (unsigned long)REG(0, INTERRUPT_STATUS),
	       (unsigned long)((PLIC_PENDING >> 1) & 1));
	REG(0, INTERRUPT_ACK) = REG(0, INTERRUPT_STATUS);
	printf("after ack: interrupt status %lu\n", (unsigned long)REG(0, INTERRUPT_STATUS));

	s = request(T_IN, 5, back, 512);
	printf("read sector 5 before: status %d, sum %08lx\n", s, (unsigned long)sum(back, 512));
	for (int i = 0; i < 512; i++) buf[i] = (uint8_t)(i * 7 + 3);
	memcpy(buf, "written by the disk guest", 25);
	s = request(T_OUT, 5, buf, 512);
	printf("write sector 5: status %d\n", s);
	memset(back, 0, sizeof back);
	s = request(T_IN, 5, back, 512);
	printf("read sector 5 back: status %d, \"%.25s\", same %d\n", s, (const char *)back, memcmp(buf, back, 512) == 0);

	s = request(T_IN, cap_lo - 1, back, 512);
	printf("read last sector: status %d, sum %08lx\n", s, (unsigned long)sum(back, 512));
	s = request(T_IN, cap_lo, back, 512);
	printf("read past the end: status %d\n", s);
	s = request(99, 0, back, 512);
	printf("unknown request type: status %d\n", s);
	REG(0, INTERRUPT_ACK) = REG(0, INTERRUPT_STATUS);
	REG(0, STATUS) = 0;
	printf("reset: status %lu\n", (unsigned long)REG(0, STATUS));
	return 0;
}
