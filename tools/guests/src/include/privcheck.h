/*
 * privcheck.h — checks on priv.h's trap log; include after check.h and priv.h.
 */
#ifndef AMBER_PRIVCHECK_H
#define AMBER_PRIVCHECK_H

#include <stdio.h>
#include "check.h"
#include "priv.h"

/* Checks tlog entry i: who took it ('M'/'S'), cause, epc, tval. */
static void __attribute__((unused))
check_rec(const char *what, uint32_t i, uint32_t by, uint32_t cause, uint32_t epc, uint32_t tval)
{
	char buf[192];
	snprintf(buf, sizeof buf, "%s: trap #%lu exists", what, (unsigned long)i);
	CHECK_MSG(buf, tlog.n > i);
	snprintf(buf, sizeof buf, "%s: taken in", what);
	CHECK_EQ(buf, tlog.r[i].by, by);
	snprintf(buf, sizeof buf, "%s: cause", what);
	CHECK_EQ(buf, tlog.r[i].cause, cause);
	snprintf(buf, sizeof buf, "%s: epc", what);
	CHECK_EQ(buf, tlog.r[i].epc, epc);
	snprintf(buf, sizeof buf, "%s: tval", what);
	CHECK_EQ(buf, tlog.r[i].tval, tval);
}

/* Checks that (status of entry i) & mask == want. */
static void __attribute__((unused))
check_status(const char *what, uint32_t i, uint32_t mask, uint32_t want)
{
	CHECK_EQ(what, tlog.r[i].status & mask, want);
}

static void __attribute__((unused)) check_count(const char *what, uint32_t n)
{
	char buf[192];
	snprintf(buf, sizeof buf, "%s: number of traps", what);
	CHECK_EQ(buf, tlog.n, n);
}

/* Prints the log as "who:cause" items (interrupts as "M:irq7"). */
static void __attribute__((unused)) print_log(const char *what)
{
	printf("%s:", what);
	for (uint32_t i = 0; i < tlog.n && i < TLOG_MAX; i++) {
		uint32_t c = tlog.r[i].cause;
		if (c & CAUSE_INTERRUPT)
			printf(" %c:irq%lu", (char)tlog.r[i].by, (unsigned long)(c & 31));
		else
			printf(" %c:%lu", (char)tlog.r[i].by, (unsigned long)c);
	}
	printf("\n");
}

#endif
