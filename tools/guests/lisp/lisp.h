/*
 * Amber Lisp — a small Scheme-flavoured Lisp that runs bare-metal on the virt board.
 *
 * Everything the interpreter knows lives in guest RAM at fixed addresses (the cell heap
 * and the string pool sit in the linker's heap region, the rest in .data/.bss), so a
 * saved machine image keeps every definition and resumes the session exactly.
 *
 * Values are 32-bit words (`obj`):
 *   ...xxx1   a fixnum: a 31-bit signed integer in the upper bits (arithmetic that
 *             leaves -2^30 .. 2^30-1 is an error, never a silent wrap)
 *   ...0010   immediate constants: (), #t, #f, the unspecified value, "unbound"
 *   ...0000   a pointer to a 16-byte cell in the heap (see heap.c)
 */
#ifndef AMBER_LISP_H
#define AMBER_LISP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t obj;

/* Immediate constants: bit 1 set, bit 0 clear, so they are neither fixnums nor pointers. */
#define NIL     ((obj)0x02)
#define TRUE    ((obj)0x06)
#define FALSE   ((obj)0x0a)
#define UNSPEC  ((obj)0x0e) /* what define-less side effects return; the REPL prints nothing */
#define UNBOUND ((obj)0x12) /* a global symbol's value before any define */

#define FIXNUM_MIN (-(1 << 30))
#define FIXNUM_MAX ((1 << 30) - 1)

static inline bool is_fixnum(obj x) { return (x & 1) != 0; }
static inline obj make_fixnum(int32_t n) { return ((uint32_t)n << 1) | 1; }
static inline int32_t fixnum_value(obj x) { return (int32_t)x >> 1; }
static inline bool is_ptr(obj x) { return (x & 3) == 0; }
static inline obj boolean(bool b) { return b ? TRUE : FALSE; }

/* Cell types (the low byte of a cell's tag). */
enum {
	T_FREE,    /* a: next free cell */
	T_PAIR,    /* a: car, b: cdr */
	T_SYMBOL,  /* a: name (a string), b: global value or UNBOUND, c: next symbol */
	T_STRING,  /* a: address of its body in the string pool, b: length in bytes */
	T_CLOSURE, /* a: parameters, b: (name . body), c: environment */
	T_BUILTIN, /* a: index in the builtin table */
	T_FRAME,   /* a: first binding, c: enclosing frame (or NIL: the global environment) */
	T_BINDING, /* a: symbol, b: value, c: next binding in the same frame */
};

typedef struct cell {
	uint32_t tag; /* type | MARK_BIT | special-form id << 16 (symbols only) */
	obj a, b, c;
} cell;

#define MARK_BIT 0x100u
#define PIN_BIT 0x200u     /* while compacting: pointed to from the C stack, cannot move */
#define FORWARD_BIT 0x400u /* while compacting: moved, a is the new address */
#define CELL(x) ((cell *)(uintptr_t)(x))
#define OBJ(p) ((obj)(uintptr_t)(p))

static inline unsigned type_of(obj x) { return is_ptr(x) ? (CELL(x)->tag & 0xff) : T_FREE; }
static inline bool is_pair(obj x) { return is_ptr(x) && type_of(x) == T_PAIR; }
static inline bool is_symbol(obj x) { return is_ptr(x) && type_of(x) == T_SYMBOL; }
static inline bool is_string(obj x) { return is_ptr(x) && type_of(x) == T_STRING; }
static inline bool is_procedure(obj x)
{
	return is_ptr(x) && (type_of(x) == T_CLOSURE || type_of(x) == T_BUILTIN);
}
static inline obj car(obj x) { return CELL(x)->a; }
static inline obj cdr(obj x) { return CELL(x)->b; }
static inline const char *string_bytes(obj s) { return (const char *)(uintptr_t)CELL(s)->a; }
static inline uint32_t string_length(obj s) { return CELL(s)->b; }

/* ---- uart.c: the console, UART 16550 at 0x10000000 ---- */
void console_init(void);
int console_getc(void); /* waits (wfi) for a byte; \r, \n and \r\n all come out as '\n' */
void console_putc(char c);
void console_write(const char *s, size_t n);
void console_puts(const char *s);
void console_fresh_line(void); /* a newline unless the cursor is at the start of a line */
#define PROMPT "lisp> "
void console_prompt(void);
void power_off(int code) __attribute__((noreturn));
/* The control channel with the host (docs: README "Host requests"): HOST_ESCAPE, then
 * one code byte from the host; HOST_ESCAPE "amber " message "\n" from the guest. */
#define HOST_ESCAPE 0x1d
void console_control(const char *message); /* does not disturb console_fresh_line */
int console_await_reply(void);             /* the code byte after the next HOST_ESCAPE */
size_t console_reply_line(char *buf, size_t max); /* the rest of a reply, up to \n */
void host_request(int code, bool at_prompt);       /* main.c */

/* ---- heap.c: cells, strings, symbols, garbage collector ---- */
void heap_init(void);
extern obj free_list;
extern uint32_t free_count;
obj alloc_cell_slow(unsigned type, obj a, obj b, obj c);
/* A new cell. The arguments are live across a collection (they are in registers). */
static inline obj alloc_cell(unsigned type, obj a, obj b, obj c)
{
	if (free_list == NIL)
		return alloc_cell_slow(type, a, b, c);
	cell *p = CELL(free_list);
	free_list = p->a;
	free_count--;
	p->tag = type;
	p->a = a;
	p->b = b;
	p->c = c;
	return OBJ(p);
}
obj cons(obj a, obj b);
obj make_string(const char *bytes, uint32_t len); /* bytes must not point into the pool */
obj make_string_uninit(uint32_t len);             /* fill string_bytes() before the next allocation */
obj intern(const char *name, uint32_t len);
obj intern_c(const char *name);
obj intern_string(obj str);
extern obj symbol_list; /* every symbol ever interned (symbols are never collected) */
void gc(void);
struct room {
	uint32_t cells_used, cells_total, cells_max;
	uint32_t string_bytes, string_max;
	uint32_t collections;
};
void room(struct room *r);
struct compact_report {
	struct room before, after;
	uint32_t limit_before; /* cells in use before (free or live) */
	uint32_t live, moved, pinned;
	uint32_t top; /* cells [top, limit) are zero */
};
void compact(struct compact_report *r); /* see heap.c; the caller then scrubs the C stack */
void gc_add_root(obj *p);                /* a C global holding an object */

/* The argument stack: evaluated arguments of calls in progress; a GC root. */
#define ARG_STACK_SIZE 16384
extern obj *arg_stack;
extern uint32_t arg_top;
void arg_stack_overflow(void) __attribute__((noreturn));
static inline void arg_push(obj v)
{
	if (arg_top >= ARG_STACK_SIZE)
		arg_stack_overflow();
	arg_stack[arg_top++] = v;
}

/* ---- main.c: errors and the stack-depth guard ---- */
void lisp_error(const char *message, obj irritant) __attribute__((noreturn));
#define NO_IRRITANT UNBOUND
extern uintptr_t stack_limit;
extern uintptr_t stack_low_water; /* the deepest frame check_stack has seen */
void stack_overflow(void) __attribute__((noreturn));
void compact_and_scrub(struct compact_report *r); /* compact(), then zero the C stack below */
static inline void check_stack(void)
{
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	if (fp < stack_low_water) {
		stack_low_water = fp;
		if (fp < stack_limit)
			stack_overflow();
	}
}

/* ---- read.c ---- */
obj read_datum(void);
int skip_to_datum(void); /* top level: skips blanks and comments, prompting at each line end */
void discard_line(void);
extern bool reading; /* set by main while read_datum runs */

/* ---- print.c ---- */
void print_obj(obj x, bool write); /* write: strings in quotes with escapes */
void print_limited(obj x);         /* for error messages: bounded depth and length */
void print_int(int32_t n);

/* ---- eval.c ---- */
enum special {
	SF_NONE, SF_QUOTE, SF_IF, SF_DEFINE, SF_SET, SF_LAMBDA, SF_LET, SF_LETSTAR,
	SF_COND, SF_BEGIN, SF_AND, SF_OR,
};
obj eval(obj x, obj env);
obj apply_procedure(obj f, uint32_t base, uint32_t n); /* arguments: arg_stack[base..base+n) */
void eval_init(void);
extern obj sym_quote;

/* ---- builtins.c ---- */
typedef obj (*builtin_fn)(obj *argv, uint32_t argc);
struct builtin {
	const char *name;
	builtin_fn fn;
	uint8_t min_args, max_args; /* max_args 255: any number */
};
extern const struct builtin builtins[];
extern const uint32_t builtin_count;
#define BUILTIN_APPLY 0 /* index of `apply`, which eval handles itself (tail call) */
void builtins_init(void);
bool equal(obj a, obj b);

#endif /* AMBER_LISP_H */
