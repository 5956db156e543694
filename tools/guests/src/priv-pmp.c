/*
 * priv-pmp: physical memory protection.
 *
 * - pmpcfg WARL: R=0,W=1 (reserved) and NA4 read back (printed), pmpaddr read back;
 * - entries (lowest number wins):  0 OFF (base of 1)   1 TOR, R: an 8 KiB array
 *   2 NAPOT, no permission: a 4 KiB page   3 NAPOT, R (no X): a 4 KiB code page
 *   4 NAPOT over everything, RWX (sfence.vma after changes: QEMU caches PMP results);
 * - U-mode: load / store / fetch allowed or access fault (1, 5, 7) with mtval = address,
 *   taken in M with MPP = U; S-mode is checked the same way; M-mode ignores unlocked
 *   entries;
 * - finally entry 2 is locked: writes to the locked pmpcfg byte and pmpaddr2 are ignored,
 *   the other bytes of pmpcfg0 stay writable (locked until reset: done last). Whether the
 *   locked entry restricts M-mode is not checked: QEMU 7.2 does not apply it.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/priv.h"
#include "include/privcheck.h"
#include "include/privops.h"

/* One block, so that what lies around the regions is known. */
static volatile struct {
	uint32_t tor[2048];   /* entry 1: TOR, R */
	uint32_t gap[1024];   /* only entry 4: RWX */
	uint32_t noacc[1024]; /* entry 2: NAPOT, no permission */
	uint32_t after[1024]; /* only entry 4 */
} mem __attribute__((aligned(4096)));
#define tor_region mem.tor
#define noacc_page mem.noacc

/* A 4 KiB page of its own: pmp_fn returns 42, nothing else is executable-sensitive here. */
extern char pmp_codepage[];
__asm__(
	".pushsection .text.pmp_codepage, \"ax\", @progbits\n"
	".option push\n.option norvc\n.option norelax\n"
	".balign 4096\n"
	".globl pmp_codepage\n"
	"pmp_codepage:\n"
	"	li a0, 42\n"
	"	ret\n"
	"	.word 0x600dc0de\n"
	".balign 4096\n"
	".option pop\n"
	".popsection\n");

#define CFG_R 0x01u
#define CFG_W 0x02u
#define CFG_X 0x04u
#define CFG_TOR 0x08u
#define CFG_NA4 0x10u
#define CFG_NAPOT 0x18u
#define CFG_L 0x80u

static uint32_t napot(const volatile void *base, uint32_t size)
{
	return ((uint32_t)base >> 2) | ((size >> 3) - 1);
}

static void warl(void)
{
	CSR_WRITE(pmpcfg0, 0);
	CSR_WRITE(pmpaddr0, 0xffffffffu);
	CHECK_EQ("pmpaddr0 = all ones read back", CSR_READ(pmpaddr0), 0xffffffffu);
	CSR_WRITE(pmpaddr1, 0x12345678u);
	CHECK_EQ("pmpaddr1 read back", CSR_READ(pmpaddr1), 0x12345678u);
	/*
	 * Not tested: the reserved R=0, W=1 combinations. QEMU 7.2 keeps them as written
	 * (NAPOT|W reads back 0x1a, NAPOT|W|X 0x1e).
	 */
	CSR_WRITE(pmpcfg0, (CFG_NA4 | CFG_R) << 8 | CFG_TOR | CFG_X);
	printf("pmpcfg0 after writing NA4|R, TOR|X: 0x%08lx\n", (unsigned long)CSR_READ(pmpcfg0));
	CHECK_EQ("NA4|R and TOR|X read back", CSR_READ(pmpcfg0), (CFG_NA4 | CFG_R) << 8 | CFG_TOR | CFG_X);
	CSR_WRITE(pmpcfg0, 0);
}

static void setup(void)
{
	CSR_WRITE(pmpaddr0, (uint32_t)tor_region >> 2);
	CSR_WRITE(pmpaddr1, ((uint32_t)tor_region + sizeof tor_region) >> 2);
	CSR_WRITE(pmpaddr2, napot(noacc_page, 4096));
	CSR_WRITE(pmpaddr3, napot(pmp_codepage, 4096));
	CSR_WRITE(pmpaddr4, 0xffffffffu);
	CSR_WRITE(pmpcfg1, CFG_NAPOT | CFG_R | CFG_W | CFG_X);
	CSR_WRITE(pmpcfg0, (CFG_NAPOT | CFG_R) << 24 | CFG_NAPOT << 16 | (CFG_TOR | CFG_R) << 8);
	CHECK_EQ("pmpcfg0 read back", CSR_READ(pmpcfg0), (CFG_NAPOT | CFG_R) << 24 | CFG_NAPOT << 16 | (CFG_TOR | CFG_R) << 8);
	CHECK_EQ("pmpcfg1 read back", CSR_READ(pmpcfg1) & 0xff, CFG_NAPOT | CFG_R | CFG_W | CFG_X);
	for (int i = 0; i < 2048; i++)
		tor_region[i] = 0x70700000u + (uint32_t)i;
	for (int i = 0; i < 1024; i++) {
		noacc_page[i] = 0x0ac00000u + (uint32_t)i;
		mem.gap[i] = 0x9a900000u + (uint32_t)i;
	}
	/* QEMU caches translations (PMP results included) in its TLB: sfence.vma. */
	__asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

static void lower(uint32_t mode, const char *label)
{
	uint32_t tor = (uint32_t)tor_region, na = (uint32_t)noacc_page, cp = (uint32_t)pmp_codepage;
	NAMED("TOR R region, first word"); LW(tor, 0x70700000u);
	NAMED("TOR R region, last word"); LW(tor + 8188, 0x70700000u + 2047);
	NAMED("TOR R region"); SW_FAULT(tor + 16, CAUSE_STORE_ACCESS);
	NAMED("TOR R region"); CALL_FAULT(tor + 32, CAUSE_FETCH_ACCESS);
	NAMED("just after the TOR region"); LW((uint32_t)&mem.gap[0], 0x9a900000u);
	NAMED("no-permission NAPOT page"); LW_FAULT(na + 8, CAUSE_LOAD_ACCESS);
	NAMED("no-permission NAPOT page"); SW_FAULT(na + 12, CAUSE_STORE_ACCESS);
	NAMED("no-permission NAPOT page, last byte"); LW_FAULT(na + 4092, CAUSE_LOAD_ACCESS);
	NAMED("just before the no-permission page"); LW((uint32_t)&mem.gap[1023], 0x9a900000u + 1023);
	NAMED("just after the no-permission page"); SW((uint32_t)&mem.after[0], 0xaf7e0000u + mode);
	NAMED("R-only code page"); CALL_FAULT(cp, CAUSE_FETCH_ACCESS);
	NAMED("R-only code page"); LW(cp + 8, 0x600dc0deu);
	tlog_reset();
	run(mode, label, BY_M);
	for (uint32_t i = 0; i < tlog.n && i < TLOG_MAX; i++)
		CHECK_EQ("MPP of the fault", tlog.r[i].status & MSTATUS_MPP, mode << 11);
}

static void machine(void)
{
	/* Unlocked entries do not apply to M. */
	tlog_reset();
	tor_region[4] = 0x12121212u;
	noacc_page[4] = 0x34343434u;
	CHECK_EQ("M store/load in the TOR R region", tor_region[4], 0x12121212u);
	CHECK_EQ("M store/load in the no-permission page", noacc_page[4], 0x34343434u);
	uint32_t v = ((uint32_t(*)(void))pmp_codepage)();
	CHECK_EQ("M call into the R-only code page", v, 42);
	check_count("M with unlocked entries", 0);
	printf("M-mode: unlocked entries do not apply\n");

	/* Lock entry 2 (no permission): now it applies to M as well. */
	CSR_SET(pmpcfg0, CFG_L << 16);
	/*
	 * Not tested: that the locked entry now applies to M-mode loads and stores. QEMU
	 * 7.2 lets M-mode read and write the page anyway (even after sfence.vma, even for
	 * a page M never touched before), although the ISA says locked entries apply to M.
	 */

	/* Writes to a locked entry are ignored. */
	uint32_t addr2 = CSR_READ(pmpaddr2);
	CSR_WRITE(pmpaddr2, 0);
	CHECK_EQ("locked pmpaddr2 unchanged", CSR_READ(pmpaddr2), addr2);
	CSR_CLEAR(pmpcfg0, 0xffu << 16);
	CHECK_EQ("locked pmpcfg byte unchanged", (CSR_READ(pmpcfg0) >> 16) & 0xff, CFG_L | CFG_NAPOT);
	CSR_WRITE(pmpcfg0, (CSR_READ(pmpcfg0) & ~0xffu) | CFG_NA4);
	CHECK_EQ("unlocked byte of the same pmpcfg0 still writable", CSR_READ(pmpcfg0) & 0xff, CFG_NA4);
	CSR_CLEAR(pmpcfg0, 0xffu);
	/* The TOR region still only applies to U/S. */
	tor_region[5] = 5;
	CHECK_EQ("M store in TOR region (unlocked)", tor_region[5], 5);
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	priv_init(0);
	warl();
	setup();
	lower(PRV_U, "U");
	CHECK_EQ("U store after the no-permission page", mem.after[0], 0xaf7e0000u);
	lower(PRV_S, "S");
	CHECK_EQ("S store after the no-permission page", mem.after[0], 0xaf7e0001u);
	CHECK_EQ("no store got through (TOR)", tor_region[4], 0x70700004u);
	CHECK_EQ("no store got through (no-permission page)", noacc_page[3], 0x0ac00003u);
	machine();
	CSR_WRITE(mtvec, mtvec0);
	return check_done("priv-pmp");
}
