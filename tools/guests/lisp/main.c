/*
 * Amber Lisp: start-up, the read-eval-print loop, and errors.
 *
 * An error (a wrong type, an unbound variable, too deep a recursion, ...) prints one
 * line and goes back to the prompt through longjmp: the session and everything
 * defined so far survive. The C stack is unwound before the message is printed, so
 * even a stack overflow has room to report itself.
 */
#include <setjmp.h>
#include <stdio.h>

#include "lisp.h"

#define BANNER "Amber Lisp 1.0 \xe2\x80\x94 (exit 0) to power off\n"

/*
 * The stack-depth guard: eval, read, print and equal? stop with an error when the C
 * stack comes within STACK_RESERVE of the bottom of link.ld's stack (1 MiB below
 * __stack), leaving room for the builtin or collection running at that moment.
 */
#define STACK_RESERVE (64u * 1024u)
extern char __stack[], __stack_size[];
uintptr_t stack_limit;
uintptr_t stack_low_water;
/* The deepest frame check_stack has seen since boot: below it (less a builtin's frames,
 * STACK_RESERVE at most) the stack has never been written. */
static uintptr_t stack_deepest;

static jmp_buf top_level;
static const char *error_message;
static obj error_irritant;

void lisp_error(const char *message, obj irritant)
{
	error_message = message;
	error_irritant = irritant;
	longjmp(top_level, 1);
}

void stack_overflow(void) { lisp_error("stack overflow (recursion too deep)", NO_IRRITANT); }

/*
 * Clears the part of the stack below this frame that the last evaluation used. The
 * collector treats every stack word as a possible pointer, and a new frame's unwritten
 * slots would otherwise show it pointers left there by a finished (or failed)
 * evaluation: one stale pointer to a long chain keeps the whole chain alive.
 */
static void __attribute__((noinline)) scrub_stack(void)
{
	uintptr_t sp;
	__asm__ volatile("mv %0, sp" : "=r"(sp));
	uintptr_t bottom = (uintptr_t)__stack - (uintptr_t)__stack_size;
	uintptr_t from = stack_low_water - 4096 > bottom ? stack_low_water - 4096 : bottom;
	if (stack_low_water < stack_deepest)
		stack_deepest = stack_low_water;
	/* A leaf without locals in memory: everything below its sp is dead. */
	for (volatile uint32_t *p = (volatile uint32_t *)(from & ~(uintptr_t)3); (uintptr_t)p < sp; p++)
		*p = 0;
	stack_low_water = sp;
}

/* Clears every word of the stack below this frame (all of it is dead) as deep as it was
 * ever used: after a compaction the pages below sp hold nothing a saved world needs. */
static void __attribute__((noinline)) scrub_stack_below(void)
{
	uintptr_t sp;
	__asm__ volatile("mv %0, sp" : "=r"(sp));
	uintptr_t bottom = (uintptr_t)__stack - (uintptr_t)__stack_size;
	uintptr_t deepest = stack_low_water < stack_deepest ? stack_low_water : stack_deepest;
	uintptr_t from = deepest - STACK_RESERVE > bottom ? deepest - STACK_RESERVE : bottom;
	for (volatile uint32_t *p = (volatile uint32_t *)(from & ~(uintptr_t)3); (uintptr_t)p < sp; p++)
		if (*p != 0)
			*p = 0;
	stack_low_water = sp;
}

void compact_and_scrub(struct compact_report *r)
{
	compact(r);
	scrub_stack_below();
}

/* The console's control request from the host (see console_control in uart.c): `code`
 * came after the escape byte. Only at the prompt (between data) can Lisp compact. */
void host_request(int code, bool at_prompt)
{
	if (code != 'c') {
		console_control("unknown-request");
		return;
	}
	if (!at_prompt) {
		console_control("busy");
		return;
	}
	struct compact_report r;
	compact_and_scrub(&r);
	char line[160];
	snprintf(line, sizeof line, "compacted cells=%lu moved=%lu pinned=%lu limit=%lu->%lu strings=%lu",
		 (unsigned long)r.live, (unsigned long)r.moved, (unsigned long)r.pinned,
		 (unsigned long)r.limit_before, (unsigned long)r.after.cells_total,
		 (unsigned long)r.after.string_bytes);
	console_control(line);
}

static void report_error(void)
{
	arg_top = 0; /* the calls in progress are gone */
	console_fresh_line();
	console_puts("error: ");
	console_puts(error_message);
	if (error_irritant != NO_IRRITANT) {
		console_puts(": ");
		print_limited(error_irritant);
	}
	console_putc('\n');
	if (reading) { /* the line is unreadable: drop its rest rather than guess */
		reading = false;
		discard_line();
	}
}

int main(void)
{
	stack_limit = (uintptr_t)__stack - (uintptr_t)__stack_size + STACK_RESERVE;
	stack_low_water = stack_deepest = (uintptr_t)__stack;
	console_init();
	heap_init();
	eval_init();
	builtins_init();
	console_puts(BANNER);
	console_prompt();
	if (setjmp(top_level) != 0)
		report_error();
	for (;;) {
		scrub_stack();
		skip_to_datum();
		reading = true;
		obj x = read_datum();
		reading = false;
		obj v = eval(x, NIL);
		if (v != UNSPEC) {
			print_obj(v, true);
			console_putc('\n');
		}
	}
}
