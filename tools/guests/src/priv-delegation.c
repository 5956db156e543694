/*
 * priv-delegation: medeleg / mideleg and the supervisor trap CSRs.
 *
 * - medeleg / mideleg writable bits (printed: QEMU is the oracle);
 * - sstatus is a restricted view of mstatus; sie / sip only show delegated interrupts;
 * - mret to S (MPP=S) after opening PMP entry 0 (NAPOT, RWX over everything);
 * - from U with ecall (8) and illegal instruction (2) delegated: taken in S with
 *   sepc / scause / stval, SPP = U, SPIE = SIE before the trap, SIE = 0; sret back to U
 *   restores SIE (seen through SPIE on the next trap);
 * - non-delegated exceptions from U (breakpoint, load access fault) go to M (MPP = U);
 * - from S: ecall is cause 9 and goes to M even with cause 8 delegated; illegal
 *   instructions go to S when delegated (SPP = S), to M otherwise (MPP = S); mret in S
 *   and sret in U are illegal; S-mode CSRs work in S (sscratch, sepc WARL);
 * - exceptions in M are never delegated (ecall from M = 11, illegal in M).
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/priv.h"
#include "include/privcheck.h"

static volatile uint32_t marks[16];
static volatile uint32_t vals[16];

static void masks(void)
{
	CSR_WRITE(medeleg, 0xffffffffu);
	uint32_t me = CSR_READ(medeleg);
	CSR_WRITE(medeleg, 0);
	CSR_WRITE(mideleg, 0xffffffffu);
	uint32_t mi = CSR_READ(mideleg);
	CSR_WRITE(mideleg, 0);
	/*
	 * Not printed: QEMU 7.2 reads back 0x00f0bfff / 0x00002666, i.e. also bit 11 (ecall
	 * from M, read-only 0 in the ISA) and hypervisor bits although H is disabled.
	 */
	CHECK_EQ("medeleg: standard delegable exceptions 0-9, 12, 13, 15", me & 0xb3ffu, 0xb3ffu);
	CHECK_EQ("medeleg cleared", CSR_READ(medeleg), 0);
	CHECK_EQ("mideleg cleared", CSR_READ(mideleg), 0);
	CHECK("medeleg: ecall from U delegable" && (me & (1u << 8)));
	CHECK("medeleg: illegal instruction delegable" && (me & (1u << 2)));
	CHECK("medeleg: page faults delegable" && (me & 0xb000u) == 0xb000u);
	CHECK_EQ("mideleg: SSI, STI, SEI delegable", mi & 0x222u, 0x222u);
	CHECK_EQ("mideleg: M interrupts not delegable", mi & 0x888u, 0);
}

static void sstatus_view(void)
{
	uint32_t s_bits = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
	uint32_t m_bits = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP_S | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
	uint32_t saved = CSR_READ(mstatus);

	CSR_WRITE(mie, 0);
	CSR_WRITE(mstatus, s_bits | m_bits);
	uint32_t ss = CSR_READ(sstatus);
	printf("sstatus with mstatus = 0x%08lx: 0x%08lx\n", (unsigned long)(s_bits | m_bits), (unsigned long)ss);
	CHECK_EQ("sstatus shows S fields only", ss, s_bits);
	CHECK_EQ("mstatus read back", CSR_READ(mstatus), s_bits | m_bits);
	CSR_WRITE(sstatus, 0);
	CHECK_EQ("sstatus = 0 leaves M fields", CSR_READ(mstatus), m_bits);
	/* (Not all ones: QEMU 7.2 then also sets sstatus.VS and SD although V is absent.) */
	CSR_WRITE(sstatus, s_bits);
	ss = CSR_READ(sstatus);
	CHECK_EQ("sstatus written with the S fields", ss, s_bits);
	CHECK_EQ("sstatus all ones: S fields set", ss & s_bits, s_bits);
	CHECK_EQ("sstatus all ones: M fields unchanged", CSR_READ(mstatus) & (m_bits | MSTATUS_MPP),
		 m_bits);
	CSR_WRITE(mstatus, saved);
}

static void sie_sip(void)
{
	CSR_WRITE(mideleg, 0);
	CSR_WRITE(mie, 0);
	CSR_WRITE(sie, 0xffffffffu);
	CHECK_EQ("mideleg=0: sie after writing all ones", CSR_READ(sie), 0);
	CHECK_EQ("mideleg=0: mie after writing sie", CSR_READ(mie), 0);
	CSR_WRITE(mie, 0x222u);
	CHECK_EQ("mideleg=0: sie hides mie.S*IE", CSR_READ(sie), 0);
	CSR_WRITE(mie, 0);

	CSR_WRITE(mideleg, 0x222u);
	CSR_WRITE(sie, 0xffffffffu);
	CHECK_EQ("mideleg=0x222: sie after writing all ones", CSR_READ(sie), 0x222u);
	CHECK_EQ("mideleg=0x222: mie after writing sie", CSR_READ(mie), 0x222u);
	CSR_WRITE(sie, 0);
	CHECK_EQ("sie = 0 clears mie", CSR_READ(mie), 0);

	/* mip.STIP is written by M; S sees it in sip only when delegated. */
	CSR_SET(mip, MIP_STIP);
	CHECK_EQ("mip.STIP set by M", CSR_READ(mip) & MIP_STIP, MIP_STIP);
	CHECK_EQ("mideleg=0x222: sip.STIP", CSR_READ(sip) & MIP_STIP, MIP_STIP);
	CSR_WRITE(mideleg, 0x002u);
	CHECK_EQ("mideleg=SSI only: sip.STIP hidden", CSR_READ(sip) & MIP_STIP, 0);
	CSR_CLEAR(mip, MIP_STIP);
	CHECK_EQ("mip.STIP cleared by M", CSR_READ(mip) & MIP_STIP, 0);

	/* sip.SSIP is writable when SSI is delegated. */
	CSR_SET(sip, MIP_SSIP);
	CHECK_EQ("sip.SSIP set through sip", CSR_READ(mip) & MIP_SSIP, MIP_SSIP);
	CHECK_EQ("sip reads SSIP", CSR_READ(sip), MIP_SSIP);
	CSR_CLEAR(sip, MIP_SSIP);
	CHECK_EQ("sip.SSIP cleared through sip", CSR_READ(mip) & MIP_SSIP, 0);
	CSR_WRITE(mideleg, 0);
	CSR_SET(sip, MIP_SSIP);
	CHECK_EQ("mideleg=0: sip.SSIP not writable", CSR_READ(mip) & MIP_SSIP, 0);
	CSR_CLEAR(mip, MIP_SSIP);
	CSR_WRITE(mie, 0);
}

/* Runs in U-mode. */
static uint32_t u_traps(uint32_t arg)
{
	uint32_t at;
	PRIV_EXPECT(at, "ecall");
	marks[0] = at;
	PRIV_EXPECT(at, "csrr t0, mstatus");
	marks[1] = at;
	PRIV_EXPECT(at, ".word 0xffffffff");
	marks[2] = at;
	PRIV_EXPECT(at, "ebreak");
	marks[3] = at;
	PRIV_EXPECT(at, "li t1, 0\n\tlw t1, 0(t1)");
	marks[4] = at + 4;
	PRIV_EXPECT(at, "sret");
	marks[5] = at;
	PRIV_EXPECT(at, "csrr t0, sstatus");
	marks[6] = at;
	return arg + 1;
}

static void from_u(uint32_t sie)
{
	char what[64];
	CSR_WRITE(medeleg, (1u << CAUSE_ECALL_U) | (1u << CAUSE_ILLEGAL));
	CSR_CLEAR(mstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
	if (sie)
		CSR_SET(mstatus, MSTATUS_SIE);
	tlog_reset();
	uint32_t r = call_in_mode(PRV_U, u_traps, 41);
	CHECK_EQ("U function returned", r, 42);
	snprintf(what, sizeof what, "U (SIE=%lu)", (unsigned long)sie);
	print_log(what);
	check_count(what, 7);
	check_rec("U ecall (delegated)", 0, BY_S, CAUSE_ECALL_U, marks[0], 0);
	check_status("U ecall: SPP = U", 0, MSTATUS_SPP, 0);
	check_status("U ecall: SIE = 0 in handler", 0, MSTATUS_SIE, 0);
	check_status("U ecall: SPIE = SIE before", 0, MSTATUS_SPIE, sie ? MSTATUS_SPIE : 0);
	check_rec("U csrr mstatus (delegated)", 1, BY_S, CAUSE_ILLEGAL, marks[1], 0x300022f3u);
	check_status("after sret: SPIE = SIE restored by sret", 1, MSTATUS_SPIE | MSTATUS_SPP,
		     sie ? MSTATUS_SPIE : 0);
	check_rec("U .word 0xffffffff (delegated)", 2, BY_S, CAUSE_ILLEGAL, marks[2], 0xffffffffu);
	check_rec("U ebreak (not delegated)", 3, BY_M, CAUSE_BREAKPOINT, marks[3], 0);
	check_status("U ebreak: MPP = U", 3, MSTATUS_MPP, 0);
	check_rec("U load fault (not delegated)", 4, BY_M, CAUSE_LOAD_ACCESS, marks[4], 0);
	check_status("U load fault: MPP = U", 4, MSTATUS_MPP, 0);
	check_status("U load fault: sstatus.SIE untouched by M trap", 4, MSTATUS_SIE, sie ? MSTATUS_SIE : 0);
	check_rec("U sret (delegated illegal)", 5, BY_S, CAUSE_ILLEGAL, marks[5], 0x10200073u);
	check_rec("U csrr sstatus (delegated illegal)", 6, BY_S, CAUSE_ILLEGAL, marks[6], 0x100022f3u);
	CSR_WRITE(medeleg, 0);
}

/* Runs in S-mode. */
static uint32_t s_traps(uint32_t arg)
{
	uint32_t at;
	PRIV_EXPECT(at, "csrr t0, mstatus");
	marks[0] = at;
	PRIV_EXPECT(at, "ecall");
	marks[1] = at;
	PRIV_EXPECT(at, "mret");
	marks[2] = at;
	PRIV_EXPECT(at, "li t1, 0\n\tsw t1, 0(t1)");
	marks[3] = at + 4;
	/* S CSRs work in S. sscratch holds the S handler's stack: put it back. */
	uint32_t old = CSR_SWAP(sscratch, 0x5a5a1234u);
	vals[0] = CSR_READ(sscratch);
	CSR_WRITE(sscratch, old);
	CSR_WRITE(sepc, 0x80000003u);
	vals[1] = CSR_READ(sepc);
	vals[2] = CSR_READ(stvec);
	vals[3] = CSR_READ(sstatus);
	vals[4] = (uint32_t)CSR_READ(scause);
	return arg ^ 0xffu;
}

static void from_s(uint32_t deleg)
{
	char what[64];
	CSR_WRITE(medeleg, deleg ? (1u << CAUSE_ECALL_U) | (1u << CAUSE_ILLEGAL) : 0);
	CSR_CLEAR(mstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
	tlog_reset();
	uint32_t r = call_in_mode(PRV_S, s_traps, 0x100);
	CHECK_EQ("S function returned", r, 0x1ff);
	snprintf(what, sizeof what, "S (illegal %s)", deleg ? "delegated" : "not delegated");
	print_log(what);
	check_count(what, 4);
	uint32_t by = deleg ? BY_S : BY_M;
	check_rec("S csrr mstatus", 0, by, CAUSE_ILLEGAL, marks[0], 0x300022f3u);
	if (deleg)
		check_status("S csrr mstatus: SPP = S", 0, MSTATUS_SPP, MSTATUS_SPP);
	else
		check_status("S csrr mstatus: MPP = S", 0, MSTATUS_MPP, MSTATUS_MPP_S);
	check_rec("S ecall -> M", 1, BY_M, CAUSE_ECALL_S, marks[1], 0);
	check_status("S ecall: MPP = S", 1, MSTATUS_MPP, MSTATUS_MPP_S);
	check_rec("S mret", 2, by, CAUSE_ILLEGAL, marks[2], 0x30200073u);
	check_rec("S store fault -> M", 3, BY_M, CAUSE_STORE_ACCESS, marks[3], 0);
	CHECK_EQ("S: sscratch round trip", vals[0], 0x5a5a1234u);
	/* sepc bit 0: QEMU 7.2 reads back 0x80000003 (the ISA says bit 0 is zero): not checked. */
	CHECK_EQ("S: sepc bits 31..1", vals[1] & ~1u, 0x80000002u);
	CHECK_EQ("S: stvec", vals[2], (uint32_t)s_trap_entry);
	CHECK_EQ("S: sstatus.SPP = U after the last sret", vals[3] & MSTATUS_SPP, 0);
	CSR_WRITE(medeleg, 0);
}

static void from_m(void)
{
	uint32_t at;
	CSR_WRITE(medeleg, 0xffffffffu);
	tlog_reset();
	PRIV_EXPECT(at, "ecall");
	check_count("M ecall with medeleg all ones", 1);
	check_rec("M ecall never delegated", 0, BY_M, CAUSE_ECALL_M, at, 0);
	tlog_reset();
	PRIV_EXPECT(at, ".word 0xffffffff");
	check_count("M illegal with medeleg all ones", 1);
	check_rec("M illegal never delegated", 0, BY_M, CAUSE_ILLEGAL, at, 0xffffffffu);
	CSR_WRITE(medeleg, 0);
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	priv_init(1);
	masks();
	sstatus_view();
	sie_sip();
	from_u(1);
	from_u(0);
	from_s(0);
	from_s(1);
	from_m();
	CSR_WRITE(mtvec, mtvec0);
	return check_done("priv-delegation");
}
