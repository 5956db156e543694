/*
 * privops.h — a list of loads, stores and calls run in S- or U-mode (with priv.h's
 * call_in_mode), then printed one line each and checked: no trap and the value, or one
 * trap with its cause, epc and tval = the address.  Include after privcheck.h, in one
 * file only.  An operation may carry a name, printed instead of its address (addresses
 * are printed only when they are fixed: 0x4xxxxxxx, the test page tables' VAs).
 */
#ifndef AMBER_PRIVOPS_H
#define AMBER_PRIVOPS_H

#include "privcheck.h"

enum { OP_END, OP_LW, OP_SW, OP_CALL, OP_SFENCE_VA, OP_SFENCE_ALL, OP_SSTATUS_SET, OP_SSTATUS_CLR, OP_SATP };

struct op {
	const char *name;
	uint32_t kind, va, arg;
	uint32_t want_cause; /* 0: no trap */
	uint32_t want_val;   /* for OP_LW / OP_CALL without trap */
};
struct res {
	uint32_t at, val, n0, n1;
};
static volatile struct op ops[40];
static volatile struct res res[40];

static uint32_t run_ops(uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uint32_t va = ops[i].va, arg = ops[i].arg, at = 0, val = 0xdeadbeefu;
		res[i].n0 = tlog.n;
		switch (ops[i].kind) {
		case OP_LW:
			__asm__ volatile(".option push\n.option norvc\n"
					 "la t0, 2f\n\tsw t0, 0(%[r])\n\tla %[at], 1f\n"
					 "1:\tlw %[v], 0(%[va])\n2:\n.option pop"
					 : [at] "=&r"(at), [v] "+r"(val)
					 : [r] "r"(&resume), [va] "r"(va)
					 : "t0", "memory");
			break;
		case OP_SW:
			__asm__ volatile(".option push\n.option norvc\n"
					 "la t0, 2f\n\tsw t0, 0(%[r])\n\tla %[at], 1f\n"
					 "1:\tsw %[v], 0(%[va])\n2:\n.option pop"
					 : [at] "=&r"(at)
					 : [r] "r"(&resume), [va] "r"(va), [v] "r"(arg)
					 : "t0", "memory");
			break;
		case OP_CALL:
			__asm__ volatile(".option push\n.option norvc\n"
					 "la t0, 2f\n\tsw t0, 0(%[r])\n\tla %[at], 1f\n"
					 "li a0, 0\n\tmv t1, %[va]\n"
					 "1:\tjalr ra, 0(t1)\n2:\tmv %[v], a0\n.option pop"
					 : [at] "=&r"(at), [v] "=r"(val)
					 : [r] "r"(&resume), [va] "r"(va)
					 : "t0", "t1", "a0", "ra", "memory");
			break;
		case OP_SFENCE_VA:
			__asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
			break;
		case OP_SFENCE_ALL:
			__asm__ volatile("sfence.vma zero, zero" ::: "memory");
			break;
		case OP_SSTATUS_SET:
			CSR_SET(sstatus, arg);
			break;
		case OP_SSTATUS_CLR:
			CSR_CLEAR(sstatus, arg);
			break;
		case OP_SATP:
			CSR_WRITE(satp, arg);
			break;
		}
		resume = 0;
		res[i].at = at;
		res[i].val = val;
		res[i].n1 = tlog.n;
	}
	return count;
}

static uint32_t nops;
static const char *next_name;
/* NAMED("text") LW(...): the next operation is printed as "text". */
#define NAMED(text) (next_name = (text))
static void op(uint32_t kind, uint32_t va, uint32_t arg, uint32_t want_cause, uint32_t want_val)
{
	ops[nops].name = next_name;
	next_name = 0;
	ops[nops].kind = kind;
	ops[nops].va = va;
	ops[nops].arg = arg;
	ops[nops].want_cause = want_cause;
	ops[nops].want_val = want_val;
	nops++;
}
#define LW(va, want) op(OP_LW, (va), 0, 0, (want))
#define LW_FAULT(va, cause) op(OP_LW, (va), 0, (cause), 0)
#define SW(va, v) op(OP_SW, (va), (v), 0, 0)
#define SW_FAULT(va, cause) op(OP_SW, (va), 0x0badf00du, (cause), 0)
#define CALL(va, want) op(OP_CALL, (va), 0, 0, (want))
#define CALL_FAULT(va, cause) op(OP_CALL, (va), 0, (cause), 0)

static const char *const op_names[] = { "end", "lw", "sw", "call", "sfence.vma va", "sfence.vma", "csrs sstatus", "csrc sstatus", "csrw satp" };

/* Runs the queued operations in `mode`; prints one line per access and checks it. */
static void run(uint32_t mode, const char *label, uint32_t by)
{
	char what[128];
	tlog_reset();
	uint32_t n = nops;
	uint32_t r = call_in_mode(mode, run_ops, n);
	CHECK_EQ("run_ops returned", r, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t kind = ops[i].kind, va = ops[i].va;
		uint32_t traps = res[i].n1 - res[i].n0;
		int fixed = (va >> 28) == 4; /* 0x4xxxxxxx: addresses fixed by the tables */
		if (kind != OP_LW && kind != OP_SW && kind != OP_CALL)
			continue;
		if (ops[i].name)
			snprintf(what, sizeof what, "%s %s %s", label, op_names[kind], ops[i].name);
		else if (fixed)
			snprintf(what, sizeof what, "%s %s 0x%08lx", label, op_names[kind], (unsigned long)va);
		else
			snprintf(what, sizeof what, "%s %s (layout-dependent address)", label, op_names[kind]);
		printf("%s: ", what);
		if (traps == 0) {
			if (kind == OP_SW)
				printf("ok\n");
			else
				printf("ok, 0x%08lx\n", (unsigned long)res[i].val);
		} else if (traps == 1) {
			uint32_t k = res[i].n0;
			uint32_t c = tlog.r[k].cause;
			printf("trap %c:%lu, tval %s\n", (char)tlog.r[k].by, (unsigned long)c,
			       tlog.r[k].tval == va ? "= address" : "!= address");
		} else {
			printf("%lu traps\n", (unsigned long)traps);
		}
		if (ops[i].want_cause) {
			CHECK_MSG(what, traps == 1);
			if (traps == 1)
				check_rec(what, res[i].n0, by, ops[i].want_cause,
					  kind == OP_CALL ? va : res[i].at, va);
		} else {
			CHECK_MSG(what, traps == 0);
			if (kind != OP_SW)
				CHECK_EQ(what, res[i].val, ops[i].want_val);
		}
	}
	nops = 0;
}

#endif
