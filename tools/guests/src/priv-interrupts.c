/*
 * priv-interrupts: CLINT timer and software interrupts, priorities, delegation of the
 * supervisor timer interrupt, enabling, and wfi.  Only booleans and orders are printed.
 *
 * - direct mtvec: a machine timer interrupt fires once mtime reaches mtimecmp (mcause
 *   0x80000007, MPIE/MIE/MPP on entry); MTIP stays pending until mtimecmp moves;
 * - vectored mtvec: timer -> slot 7, msip -> slot 3, exceptions -> slot 0;
 * - MSI and MTI pending at once: MSI first;
 * - MIE = 0: a pending enabled interrupt waits, and is taken right after `csrs mstatus`;
 * - wfi: with MIE = 0 it wakes on the timer without entering the handler; with MIE = 1
 *   the handler runs with mepc = the instruction after wfi; wfi in S with TW = 0 waits
 *   for an M interrupt; wfi in S with TW = 1 and in U is an illegal instruction;
 * - STI delegated with mideleg: the M timer handler sets mip.STIP (as SBI firmware
 *   does), S takes cause 0x80000005; in U the S interrupt is taken even with SIE = 0;
 *   in S with SIE = 0 it waits until S sets SIE; not delegated it goes to M even from S;
 *   SSIP set by S itself through sip; an M interrupt goes before a pending S interrupt.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/priv.h"
#include "include/privcheck.h"

static volatile uint32_t vals[8];

static uint64_t mtime(void)
{
	uint32_t hi, lo;
	do {
		hi = *CLINT_MTIME_HI;
		lo = *CLINT_MTIME_LO;
	} while (hi != *CLINT_MTIME_HI);
	return ((uint64_t)hi << 32) | lo;
}

static void set_mtimecmp(uint64_t t)
{
	*CLINT_MTIMECMP_HI = 0xffffffffu;
	*CLINT_MTIMECMP_LO = (uint32_t)t;
	*CLINT_MTIMECMP_HI = (uint32_t)(t >> 32);
}

static void timer_off(void)
{
	set_mtimecmp(~0ull);
}

/* Spins until tlog.n >= n or `ticks` of mtime (10 MHz) have passed. */
static void wait_traps(uint32_t n, uint32_t ticks)
{
	uint32_t t0 = *CLINT_MTIME_LO;
	while (tlog.n < n && *CLINT_MTIME_LO - t0 < ticks)
		;
}

static void direct_timer(void)
{
	CSR_WRITE(mtvec, (uint32_t)m_trap_entry);
	CSR_WRITE(mie, 0);
	CHECK_EQ("mtimecmp = max: MTIP clear", CSR_READ(mip) & MIP_MTIP, 0);
	set_mtimecmp(mtime() + 10000000u); /* 1 s away */
	CHECK_EQ("mtimecmp in the future: MTIP clear", CSR_READ(mip) & MIP_MTIP, 0);

	tlog_reset();
	CSR_WRITE(mie, MIP_MTIP);
	CSR_CLEAR(mstatus, MSTATUS_MPIE | MSTATUS_MPP);
	CSR_SET(mstatus, MSTATUS_MIE);
	for (volatile int i = 0; i < 100; i++)
		;
	check_count("timer 1 s away: not taken yet", 0);
	set_mtimecmp(mtime() + 1000u); /* 100 us */
	wait_traps(1, 1000000u);
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	check_count("direct: timer interrupt", 1);
	check_rec("direct: timer interrupt", 0, BY_M, CAUSE_INTERRUPT | 7, tlog.r[0].epc, 0);
	CHECK_EQ("direct: slot (direct entry)", tlog.r[0].slot, 0xff);
	check_status("direct: MIE = 0 in handler", 0, MSTATUS_MIE, 0);
	check_status("direct: MPIE = 1 in handler", 0, MSTATUS_MPIE, MSTATUS_MPIE);
	check_status("direct: MPP = M in handler", 0, MSTATUS_MPP, MSTATUS_MPP_M);
	CHECK_EQ("MTIP still pending after the handler", CSR_READ(mip) & MIP_MTIP, MIP_MTIP);
	timer_off();
	CHECK_EQ("mtimecmp = max: MTIP cleared", CSR_READ(mip) & MIP_MTIP, 0);
	printf("direct mtvec: timer interrupt taken once, after mtimecmp was reached\n");
}

static void vectored(void)
{
	uint32_t at;
	CSR_WRITE(mtvec, (uint32_t)m_vectors | 1u);
	CHECK_EQ("mtvec vectored read back", CSR_READ(mtvec), (uint32_t)m_vectors | 1u);

	tlog_reset();
	set_mtimecmp(0);
	CSR_WRITE(mie, MIP_MTIP);
	CSR_SET(mstatus, MSTATUS_MIE);
	__asm__ volatile("nop\n\tnop");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	timer_off();
	*CLINT_MSIP = 1;
	CHECK_EQ("msip = 1: mip.MSIP", CSR_READ(mip) & MIP_MSIP, MIP_MSIP);
	CSR_WRITE(mie, MIP_MSIP);
	CSR_SET(mstatus, MSTATUS_MIE);
	__asm__ volatile("nop\n\tnop");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	*CLINT_MSIP = 0;
	CHECK_EQ("msip = 0: mip.MSIP", CSR_READ(mip) & MIP_MSIP, 0);
	PRIV_EXPECT(at, "ecall");
	print_log("vectored");
	check_count("vectored", 3);
	check_rec("vectored: timer", 0, BY_M, CAUSE_INTERRUPT | 7, tlog.r[0].epc, 0);
	CHECK_EQ("vectored: timer slot", tlog.r[0].slot, 7);
	check_rec("vectored: msip", 1, BY_M, CAUSE_INTERRUPT | 3, tlog.r[1].epc, 0);
	CHECK_EQ("vectored: msip slot", tlog.r[1].slot, 3);
	check_rec("vectored: ecall", 2, BY_M, CAUSE_ECALL_M, at, 0);
	CHECK_EQ("vectored: ecall slot", tlog.r[2].slot, 0);
	CSR_WRITE(mtvec, (uint32_t)m_trap_entry);
}

/*
 * MSI before MTI.  (Not tested: undelegated S-level interrupts pending together with
 * M-level ones.  QEMU 7.2 without AIA takes the lowest-numbered pending interrupt, so SSI
 * (1) goes before MSI (3), where the ISA's order is MEI, MSI, MTI, SEI, SSI, STI.)
 */
static void priority(void)
{
	tlog_reset();
	CSR_WRITE(mideleg, 0);
	*CLINT_MSIP = 1;
	set_mtimecmp(0);
	CSR_WRITE(mie, MIP_MSIP | MIP_MTIP);
	CHECK_EQ("MSIP and MTIP pending", CSR_READ(mip) & 0x88, 0x88);
	CHECK_EQ("MIE = 0: none taken", tlog.n, 0);
	CSR_SET(mstatus, MSTATUS_MIE);
	__asm__ volatile("nop\n\tnop\n\tnop\n\tnop");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	print_log("priority (MSI and MTI pending)");
	check_count("priority", 2);
	CHECK_EQ("first: MSI", tlog.r[0].cause, CAUSE_INTERRUPT | 3);
	CHECK_EQ("second: MTI", tlog.r[1].cause, CAUSE_INTERRUPT | 7);
	*CLINT_MSIP = 0;
	timer_off();
	CHECK_EQ("all cleared", CSR_READ(mip) & 0xaa, 0);
}

static void enable_late(void)
{
	uint32_t at;
	tlog_reset();
	set_mtimecmp(0);
	CSR_WRITE(mie, MIP_MTIP);
	for (volatile int i = 0; i < 1000; i++)
		;
	CHECK_EQ("pending + enabled, MIE = 0: not taken", tlog.n, 0);
	__asm__ volatile(ASM_ZICSR("la %0, 1f\n\tcsrs mstatus, %1\n1:\tnop\n\tnop") : "=&r"(at) : "r"(MSTATUS_MIE) : "memory");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	check_count("taken after csrs mstatus.MIE", 1);
	CHECK_EQ("taken after csrs mstatus.MIE: cause", tlog.r[0].cause, CAUSE_INTERRUPT | 7);
	CHECK_EQ("taken right after the csrs (mepc = next instruction)", tlog.r[0].epc, at);
	timer_off();
	printf("MIE = 0: pending timer waits; taken right after setting MIE\n");
}

static void wfi_m(void)
{
	uint32_t at;
	/* MIE = 0: wfi wakes on the timer, the handler is not entered. */
	tlog_reset();
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	CSR_WRITE(mie, MIP_MTIP);
	set_mtimecmp(mtime() + 2000u);
	__asm__ volatile("wfi" ::: "memory");
	uint32_t pending = CSR_READ(mip) & MIP_MTIP;
	check_count("wfi with MIE = 0", 0);
	CHECK_EQ("wfi with MIE = 0: woke with MTIP pending", pending, MIP_MTIP);
	CSR_SET(mstatus, MSTATUS_MIE);
	__asm__ volatile("nop");
	CSR_CLEAR(mstatus, MSTATUS_MIE);
	check_count("then MIE = 1", 1);
	printf("wfi with MIE = 0: wakes on the timer, handler not entered (then taken after MIE = 1)\n");

	/* MIE = 1: the handler runs with mepc = the instruction after wfi. */
	tlog_reset();
	CSR_WRITE(mie, MIP_MTIP);
	set_mtimecmp(mtime() + 20000u); /* 2 ms */
	/* (If the interrupt came before the wfi, skip it rather than wait forever.) */
	__asm__ volatile(ASM_ZICSR("csrs mstatus, %1\n\tla %0, 1f\n\tlw t0, 0(%2)\n\tbnez t0, 1f\n\twfi\n1:\tnop\n\tcsrc mstatus, %1")
			 : "=&r"(at) : "r"(MSTATUS_MIE), "r"(&tlog.n) : "t0", "memory");
	check_count("wfi with MIE = 1", 1);
	CHECK_EQ("wfi with MIE = 1: cause", tlog.r[0].cause, CAUSE_INTERRUPT | 7);
	CHECK_EQ("wfi with MIE = 1: mepc = after the wfi", tlog.r[0].epc, at);
	timer_off();
	printf("wfi with MIE = 1: handler entered, mepc = the next instruction\n");
}

static uint32_t s_wfi(uint32_t arg)
{
	uint32_t at;
	/* arg = 1: skip the wfi if the timer interrupt already came (never wait forever). */
	PRIV_EXPECT(at, "beqz %2, 1f\n\tlw t1, 0(%3)\n\tbnez t1, 2f\n1:\twfi\n2:", "r"(arg), "r"(&tlog.n));
	at += 12; /* the wfi */
	vals[0] = at;
	return 0;
}

static void wfi_lower(void)
{
	/* wfi in S, TW = 0: waits for the M timer interrupt, taken in M with mepc = after. */
	tlog_reset();
	CSR_CLEAR(mstatus, MSTATUS_TW | MSTATUS_MIE);
	CSR_WRITE(mie, MIP_MTIP);
	set_mtimecmp(mtime() + 20000u); /* 2 ms */
	call_in_mode(PRV_S, s_wfi, 1);
	print_log("wfi in S (TW = 0)");
	check_count("wfi in S", 1);
	check_rec("wfi in S: M timer", 0, BY_M, CAUSE_INTERRUPT | 7, vals[0] + 4, 0);
	check_status("wfi in S: MPP = S", 0, MSTATUS_MPP, MSTATUS_MPP_S);
	timer_off();
	CSR_WRITE(mie, 0);

	/* wfi in S with TW = 1, and in U: illegal instruction. */
	tlog_reset();
	CSR_SET(mstatus, MSTATUS_TW);
	call_in_mode(PRV_S, s_wfi, 0);
	CSR_CLEAR(mstatus, MSTATUS_TW);
	print_log("wfi in S (TW = 1)");
	check_count("wfi in S, TW = 1", 1);
	check_rec("wfi in S, TW = 1", 0, BY_M, CAUSE_ILLEGAL, vals[0], 0x10500073u);

	tlog_reset();
	call_in_mode(PRV_U, s_wfi, 0);
	print_log("wfi in U");
	check_count("wfi in U", 1);
	check_rec("wfi in U", 0, BY_M, CAUSE_ILLEGAL, vals[0], 0x10500073u);
}

/* S: waits (bounded) for `arg` traps in the log. */
static uint32_t s_wait(uint32_t arg)
{
	wait_traps(arg, 2000000u);
	return tlog.n;
}

/* S with SIE = 0: a pending delegated interrupt waits until S sets SIE. */
static uint32_t s_enable_late(uint32_t arg)
{
	uint32_t at;
	for (volatile int i = 0; i < 1000; i++)
		;
	vals[1] = tlog.n;
	__asm__ volatile(ASM_ZICSR("la %0, 1f\n\tcsrsi sstatus, 2\n1:\tnop\n\tnop") : "=&r"(at) :: "memory");
	vals[0] = at;
	CSR_CLEAR(sstatus, MSTATUS_SIE);
	return 0;
}

/* S sets its own software interrupt through sip. */
static uint32_t s_ssip(uint32_t arg)
{
	uint32_t at;
	CSR_SET(sie, MIP_SSIP);
	__asm__ volatile(ASM_ZICSR("la %0, 1f\n\tcsrsi sip, 2\n1:\tnop\n\tnop") : "=&r"(at) :: "memory");
	vals[0] = at;
	vals[1] = CSR_READ(sip) & MIP_SSIP;
	CSR_CLEAR(sip, MIP_SSIP);
	vals[2] = CSR_READ(sip) & MIP_SSIP;
	return 0;
}

static uint32_t u_nop(uint32_t arg)
{
	__asm__ volatile("nop\n\tnop\n\tnop");
	return 0;
}

static void supervisor(void)
{
	/* SBI style: M timer interrupt -> M sets mip.STIP -> S takes the STI. */
	tlog_reset();
	CSR_WRITE(mideleg, MIP_STIP | MIP_SSIP);
	forward_mti = 1;
	CSR_WRITE(mie, MIP_MTIP | MIP_STIP);
	CSR_SET(mstatus, MSTATUS_SIE);
	set_mtimecmp(mtime() + 1000u);
	call_in_mode(PRV_S, s_wait, 2);
	forward_mti = 0;
	timer_off();
	print_log("STI forwarded by M (S, SIE = 1)");
	check_count("STI forwarded", 2);
	check_rec("STI forwarded: M timer first", 0, BY_M, CAUSE_INTERRUPT | 7, tlog.r[0].epc, 0);
	check_status("STI forwarded: MPP = S", 0, MSTATUS_MPP, MSTATUS_MPP_S);
	check_rec("STI forwarded: then S timer in S", 1, BY_S, CAUSE_INTERRUPT | 5, tlog.r[1].epc, 0);
	check_status("STI in S: SPP = S", 1, MSTATUS_SPP, MSTATUS_SPP);
	check_status("STI in S: SPIE = 1, SIE = 0", 1, MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE);
	CHECK_EQ("STI: M cleared MTIE", CSR_READ(mie) & MIP_MTIP, 0);
	CHECK_EQ("STI: S cleared STIE (through sie)", CSR_READ(mie) & MIP_STIP, 0);
	CHECK_EQ("STIP still pending (M clears it)", CSR_READ(mip) & MIP_STIP, MIP_STIP);
	CSR_CLEAR(mip, MIP_STIP);

	/* In U the delegated STI is taken in S even with SIE = 0. */
	tlog_reset();
	CSR_CLEAR(mstatus, MSTATUS_SIE);
	CSR_SET(mip, MIP_STIP);
	CSR_WRITE(mie, MIP_STIP);
	call_in_mode(PRV_U, u_nop, 0);
	print_log("STI pending, in U, SIE = 0");
	check_count("STI in U", 1);
	check_rec("STI in U: taken in S", 0, BY_S, CAUSE_INTERRUPT | 5, tlog.r[0].epc, 0);
	check_status("STI in U: SPP = U, SPIE = 0", 0, MSTATUS_SPP | MSTATUS_SPIE, 0);

	/* In S with SIE = 0 it waits until S sets SIE. */
	tlog_reset();
	CSR_WRITE(mie, MIP_STIP);
	call_in_mode(PRV_S, s_enable_late, 0);
	print_log("STI pending, in S, SIE = 0 then 1");
	CHECK_EQ("S, SIE = 0: not taken", vals[1], 0);
	check_count("S sets SIE", 1);
	check_rec("S sets SIE: taken right after the csrsi", 0, BY_S, CAUSE_INTERRUPT | 5, vals[0], 0);

	/* Not delegated: the STI goes to M even from S, whatever mstatus.MIE. */
	tlog_reset();
	CSR_WRITE(mideleg, 0);
	CSR_CLEAR(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
	CSR_WRITE(mie, MIP_STIP);
	call_in_mode(PRV_S, u_nop, 0);
	print_log("STI pending, not delegated, in S");
	check_count("STI not delegated", 1);
	check_rec("STI not delegated: taken in M", 0, BY_M, CAUSE_INTERRUPT | 5, tlog.r[0].epc, 0);
	check_status("STI not delegated: MPP = S", 0, MSTATUS_MPP, MSTATUS_MPP_S);
	CSR_CLEAR(mip, MIP_STIP);

	/* S raises its own software interrupt. */
	tlog_reset();
	CSR_WRITE(mideleg, MIP_STIP | MIP_SSIP);
	CSR_WRITE(mie, 0);
	CSR_SET(mstatus, MSTATUS_SIE);
	call_in_mode(PRV_S, s_ssip, 0);
	print_log("SSIP set by S through sip");
	check_count("SSI", 1);
	check_rec("SSI: taken in S right after csrsi sip", 0, BY_S, CAUSE_INTERRUPT | 1, vals[0], 0);
	CHECK_EQ("SSI: still pending in the handler's aftermath", vals[1], MIP_SSIP);
	CHECK_EQ("SSI: cleared by S through sip", vals[2], 0);

	/* M interrupt before a pending S interrupt. */
	tlog_reset();
	CSR_SET(mip, MIP_STIP);
	*CLINT_MSIP = 1;
	CSR_WRITE(mie, MIP_STIP | MIP_MSIP);
	CSR_SET(mstatus, MSTATUS_SIE);
	call_in_mode(PRV_S, u_nop, 0);
	*CLINT_MSIP = 0;
	CSR_CLEAR(mip, MIP_STIP);
	print_log("MSI and delegated STI pending, in S");
	check_count("MSI and STI", 2);
	CHECK_EQ("MSI first, in M", tlog.r[0].cause, CAUSE_INTERRUPT | 3);
	CHECK_EQ("MSI first, in M: by", tlog.r[0].by, BY_M);
	CHECK_EQ("then STI, in S", tlog.r[1].cause, CAUSE_INTERRUPT | 5);
	CHECK_EQ("then STI, in S: by", tlog.r[1].by, BY_S);
	CSR_WRITE(mideleg, 0);
	CSR_WRITE(mie, 0);
	CSR_CLEAR(mstatus, MSTATUS_SIE);
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	priv_init(1);
	CHECK_EQ("priv_init moved mtimecmp away: MTIP clear", CSR_READ(mip) & MIP_MTIP, 0);
	direct_timer();
	vectored();
	priority();
	enable_late();
	wfi_m();
	wfi_lower();
	supervisor();
	CSR_WRITE(mie, 0);
	CSR_WRITE(mtvec, mtvec0);
	return check_done("priv-interrupts");
}
