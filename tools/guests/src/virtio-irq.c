/*
 * virtio-irq: when virtio-mmio block device 0 (0x10001000, PLIC source 1) reports its
 * interrupt line, seen as the PLIC's latched pending bit: a used buffer with interrupts
 * wanted, one while the driver set VRING_AVAIL_F_NO_INTERRUPT, an InterruptACK that
 * leaves the status set (here: acknowledging no bits), and a full acknowledge.
 * Interrupts stay masked; the driver polls the used ring.  Set up as disk.c does (the
 * same disk and QEMU arguments); prints what it sees, the golden output is QEMU's.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/riscv.h"

#define REG(off) (*(volatile uint32_t *)(0x10001000UL + (off)))
#define PLIC(off) (*(volatile uint32_t *)(0x0c000000UL + (off)))
#define SOURCE 1

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008,
	DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
	QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
	QUEUE_DESC_LOW = 0x080, QUEUE_DRIVER_LOW = 0x090, QUEUE_DEVICE_LOW = 0x0a0,
};
#define QN 8
#define AVAIL_F_NO_INTERRUPT 1

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct avail { uint16_t flags; uint16_t idx; uint16_t ring[QN]; uint16_t used_event; };
struct used { uint16_t flags; uint16_t idx; struct { uint32_t id, len; } ring[QN]; uint16_t avail_event; };
struct req { uint32_t type; uint32_t reserved; uint64_t sector; };

static struct desc desc[QN] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct req req;
static uint8_t data[512];
static volatile uint8_t status;

/* Reads sector 0 and waits for the used ring to move. */
static void read_sector(void)
{
	uint16_t seen = *(volatile uint16_t *)&used.idx;
	req = (struct req){ 0, 0, 0 };
	desc[0] = (struct desc){ (uintptr_t)&req, sizeof req, 1, 1 };
	desc[1] = (struct desc){ (uintptr_t)data, 512, 1 | 2, 2 };
	desc[2] = (struct desc){ (uintptr_t)&status, 1, 2, 0 };
	avail.ring[avail.idx % QN] = 0;
	__sync_synchronize();
	avail.idx++;
	__sync_synchronize();
	REG(QUEUE_NOTIFY) = 0;
	while (*(volatile uint16_t *)&used.idx == seen) {}
}

static void show(const char *step)
{
	printf("%-46s interrupt status %lu, pending %lu\n", step, (unsigned long)REG(INTERRUPT_STATUS),
	       (unsigned long)((PLIC(0x1000) >> SOURCE) & 1));
}

/* Claims (printing the id) and completes. */
static void claim(const char *step)
{
	uint32_t id = PLIC(0x200004);
	if (id)
		PLIC(0x200004) = id;
	printf("%-46s claim = %lu\n", step, (unsigned long)id);
}

int main(void)
{
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	if (REG(MAGIC) != 0x74726976 || REG(VERSION) != 2 || REG(DEVICE_ID) != 2) {
		printf("no virtio 1.x block device in slot 0\n");
		return 1;
	}
	PLIC(4 * SOURCE) = 1;
	PLIC(0x2000) = 1u << SOURCE;
	PLIC(0x200000) = 0;

	REG(STATUS) = 0;
	REG(STATUS) = 1;
	REG(STATUS) = 1 | 2;
	REG(DRIVER_FEATURES_SEL) = 1;
	REG(DRIVER_FEATURES) = 1; /* VIRTIO_F_VERSION_1 */
	REG(DRIVER_FEATURES_SEL) = 0;
	REG(DRIVER_FEATURES) = 0;
	REG(STATUS) = 1 | 2 | 8;
	REG(QUEUE_SEL) = 0;
	REG(QUEUE_NUM) = QN;
	REG(QUEUE_DESC_LOW) = (uintptr_t)desc;
	REG(QUEUE_DRIVER_LOW) = (uintptr_t)&avail;
	REG(QUEUE_DEVICE_LOW) = (uintptr_t)&used;
	REG(QUEUE_READY) = 1;
	REG(STATUS) = 1 | 2 | 8 | 4;
	show("driver ok");

	puts("-- a used buffer, interrupts wanted");
	read_sector();
	show("sector read");
	claim("claim");
	show("claimed and completed");

	puts("-- InterruptACK of no bits (status stays set)");
	REG(INTERRUPT_ACK) = 0;
	show("ack 0");
	claim("claim");
	REG(INTERRUPT_ACK) = 1;
	show("ack 1");
	claim("claim");

	puts("-- a used buffer with VRING_AVAIL_F_NO_INTERRUPT");
	avail.flags = AVAIL_F_NO_INTERRUPT;
	read_sector();
	show("sector read");
	claim("claim");
	avail.flags = 0;
	REG(QUEUE_NOTIFY) = 0;
	show("notify with nothing new, interrupts wanted");
	claim("claim");

	puts("-- another used buffer while the status is set");
	read_sector();
	show("sector read");
	claim("claim");
	read_sector();
	show("sector read again (status not acknowledged)");
	claim("claim");
	REG(INTERRUPT_ACK) = REG(INTERRUPT_STATUS);
	show("ack");
	claim("claim");

	REG(STATUS) = 0;
	show("reset");
	puts("virtio-irq: done");
	return 0;
}
