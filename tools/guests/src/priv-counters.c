/*
 * priv-counters: mcounteren / scounteren gating of cycle, time, instret (and their
 * high halves) from S- and U-mode.
 *
 * - in M: cycle, time, instret readable whatever mcounteren says; time advances;
 * - S: counter n readable iff mcounteren bit n, else illegal instruction (mtval = insn);
 * - U: readable iff mcounteren bit n and scounteren bit n;
 * - mcounteren / scounteren: bits 0-2 writable (read back checked).
 * Counter values are never printed.
 */
#include <stdint.h>
#include <stdio.h>

#include "include/check.h"
#include "include/priv.h"
#include "include/privcheck.h"

static volatile uint32_t ok[6];

/* Reads cycle, time, instret, cycleh, timeh, instreth; ok[i] = 1 if it did not trap. */
static uint32_t read_all(uint32_t arg)
{
	uint32_t at, n;
#define TRY(i, csr) \
	n = tlog.n; \
	PRIV_EXPECT(at, "csrr t1, " #csr); \
	ok[i] = tlog.n == n;
	TRY(0, cycle)
	TRY(1, time)
	TRY(2, instret)
	TRY(3, cycleh)
	TRY(4, timeh)
	TRY(5, instreth)
#undef TRY
	(void)at;
	return 0;
}

static const uint32_t insn[6] = {
	0xc0002373u, /* csrr t1, cycle */
	0xc0102373u, /* csrr t1, time */
	0xc0202373u, /* csrr t1, instret */
	0xc8002373u, /* csrr t1, cycleh */
	0xc8102373u, /* csrr t1, timeh */
	0xc8202373u, /* csrr t1, instreth */
};

static void run(uint32_t mode, uint32_t mcen, uint32_t scen)
{
	char what[96];
	CSR_WRITE(mcounteren, mcen);
	CSR_WRITE(scounteren, scen);
	tlog_reset();
	call_in_mode(mode, read_all, 0);
	uint32_t en = mode == PRV_S ? mcen : (mcen & scen);
	printf("%s, mcounteren=%lu scounteren=%lu: readable:", mode == PRV_S ? "S" : "U",
	       (unsigned long)mcen, (unsigned long)scen);
	static const char *const names[6] = { "cycle", "time", "instret", "cycleh", "timeh", "instreth" };
	for (int i = 0; i < 6; i++)
		if (ok[i])
			printf(" %s", names[i]);
	printf("\n");
	uint32_t k = 0;
	for (int i = 0; i < 6; i++) {
		uint32_t want = (en >> (i % 3)) & 1;
		snprintf(what, sizeof what, "%s mcounteren=%lu scounteren=%lu %s", mode == PRV_S ? "S" : "U",
			 (unsigned long)mcen, (unsigned long)scen, names[i]);
		CHECK_EQ(what, ok[i], want);
		if (!ok[i]) {
			if (k < tlog.n)
				check_rec(what, k, BY_M, CAUSE_ILLEGAL, tlog.r[k].epc, insn[i]);
			k++;
		}
	}
	check_count("counters", k);
}

static uint64_t time64(void)
{
	uint32_t hi, lo;
	do {
		hi = CSR_READ(timeh);
		lo = CSR_READ(time);
	} while (hi != CSR_READ(timeh));
	return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
	uint32_t mtvec0 = CSR_READ(mtvec);
	priv_init(1);

	CSR_WRITE(mcounteren, 0);
	uint64_t t0 = time64();
	for (volatile int i = 0; i < 20000; i++)
		;
	uint64_t t1 = time64();
	CHECK("time readable in M with mcounteren = 0 and advancing" && t1 > t0);
	uint32_t mt = *CLINT_MTIME_LO;
	uint32_t tl = CSR_READ(time);
	CHECK("time CSR follows CLINT mtime" && tl - mt < 1000000u);
	tlog_reset();
	read_all(0);
	CHECK("all six readable in M" && ok[0] && ok[1] && ok[2] && ok[3] && ok[4] && ok[5]);
	printf("M: cycle, time, instret (and high halves) readable; time advances\n");

	CSR_WRITE(mcounteren, 0xffffffffu);
	CSR_WRITE(scounteren, 0xffffffffu);
	CHECK_EQ("mcounteren bits 0-2 writable", CSR_READ(mcounteren) & 7, 7);
	CHECK_EQ("scounteren bits 0-2 writable", CSR_READ(scounteren) & 7, 7);

	run(PRV_S, 0, 0);
	run(PRV_S, 7, 0);
	run(PRV_S, 2, 0);
	run(PRV_S, 5, 7);
	run(PRV_U, 7, 0);
	run(PRV_U, 0, 7);
	run(PRV_U, 7, 7);
	run(PRV_U, 3, 6);

	CSR_WRITE(mcounteren, 0);
	CSR_WRITE(scounteren, 0);
	CSR_WRITE(mtvec, mtvec0);
	return check_done("priv-counters");
}
