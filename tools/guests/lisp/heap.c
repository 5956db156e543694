/*
 * The heap: 16-byte cells, a string pool, the symbol table, and a mark-sweep collector.
 *
 * Where it lives: the region link.ld leaves between the end of .bss and the stack
 * (__heap_start ..). It is neither loaded nor cleared by crt0, and cells are handed
 * out from the bottom up, growing the used part only when a collection leaves it too
 * full. So a session touches (and a saved world stores) only the pages it has needed,
 * not the whole 3 MiB.
 *
 *   cells:   CELLS_MAX cells of 16 bytes (2 MiB); the first `cells_used_limit` are in use
 *   strings: STRING_POOL bytes (1 MiB) of string bodies, allocated upwards, compacted
 *            by the collector. A body is { owner cell, length, bytes, NUL, padding }.
 *   the argument stack: ARG_STACK_SIZE words (64 KiB), touched only as deep as used
 *
 * Roots of the collector: the symbol list (symbols are never collected, and their
 * global values hang off them), the argument stack, and — conservatively — every word
 * on the C stack and in the callee-saved registers, so C code can keep objects in
 * local variables across allocations without registering them. A word that merely
 * looks like a pointer into the used cells keeps that cell alive: harmless.
 *
 * Marking uses an explicit stack (no C recursion, so a million-deep nested list does
 * not overflow it); when that stack fills up, marking goes on by rescanning the heap
 * for marked cells with unmarked children.
 */
#include <setjmp.h>
#include <string.h>

#include "lisp.h"

#define CELLS_MAX (128u * 1024u)    /* 2 MiB of cells */
#define CELLS_INITIAL (2u * 1024u)  /* 32 KiB in use at first */
#define STRING_POOL (1024u * 1024u) /* 1 MiB of string bodies */
#define MARK_STACK 1024

extern char __heap_start[], __heap_end[], __stack[];

static cell *cells;                 /* CELLS_MAX cells, 16-byte aligned */
static uint32_t cells_used_limit;   /* cells [0, limit) are in use (free or live) */
obj free_list = NIL;
uint32_t free_count;
static uint8_t *pool, *pool_top, *pool_end;
static uint32_t collections;

obj symbol_list = NIL;
obj *arg_stack; /* ARG_STACK_SIZE entries after the string pool */
uint32_t arg_top;

struct string_body {
	uint32_t owner; /* the T_STRING cell that owns this body */
	uint32_t length;
	char bytes[];   /* length bytes, a NUL, padding to 4 */
};

static uint32_t body_size(uint32_t length) { return (sizeof(struct string_body) + length + 1 + 3) & ~3u; }

/*
 * Fresh cells: [cells_fresh, cells_used_limit) holds only all-zero cells (free, handed
 * out from the bottom up once the free list is empty) and, after a compaction, the odd
 * live cell that could not move (pinned). Keeping them zero rather than threading them
 * on the free list is what lets a compacted heap leave its free space all zero.
 */
static uint32_t cells_fresh;
static uint8_t *pool_high; /* the highest pool_top so far: the pool is zero above it */
static obj *gc_roots[4];   /* C globals holding objects (compaction updates them) */
static uint32_t gc_root_count;

void gc_add_root(obj *p) { gc_roots[gc_root_count++] = p; }

/* Clears [from, to), writing only words that are not zero already (so an untouched
 * page stays untouched). */
static void zero_words(void *from, void *to)
{
	for (uint32_t *p = from; p < (uint32_t *)to; p++)
		if (*p != 0)
			*p = 0;
}

/* The next fresh cell, or NULL when there is none left below the limit. */
static cell *take_fresh(void)
{
	while (cells_fresh < cells_used_limit) {
		cell *c = &cells[cells_fresh++];
		if (c->tag == 0)
			return c;
	}
	return NULL;
}

/* Makes cells [old, limit) part of the heap in use: fresh cells. They are zero already:
 * RAM is zero at power-on (the heap region is neither loaded nor cleared by crt0), and a
 * compaction clears every cell it gives back above the limit. */
static void grow_to(uint32_t limit)
{
	free_count += limit - cells_used_limit;
	cells_used_limit = limit;
}

void heap_init(void)
{
	uintptr_t start = ((uintptr_t)__heap_start + 15) & ~(uintptr_t)15;
	cells = (cell *)start;
	pool = (uint8_t *)(start + CELLS_MAX * sizeof(cell));
	pool_top = pool_high = pool;
	pool_end = pool + STRING_POOL;
	arg_stack = (obj *)pool_end;
	if ((uintptr_t)(arg_stack + ARG_STACK_SIZE) > (uintptr_t)__heap_end) {
		console_puts("lisp: the heap does not fit in RAM\n");
		power_off(1);
	}
	free_list = NIL;
	free_count = 0;
	cells_used_limit = 0;
	cells_fresh = 0;
	grow_to(CELLS_INITIAL);
}

/* ---- marking ---- */

static obj mark_stack[MARK_STACK];
static uint32_t mark_top;
static bool mark_overflow;
static bool pinning; /* set while compacting: cells found from the C stack cannot move */

static void mark(obj x)
{
	if (!is_ptr(x))
		return;
	cell *c = CELL(x);
	if (c->tag & MARK_BIT)
		return;
	c->tag |= MARK_BIT;
	if (mark_top < MARK_STACK)
		mark_stack[mark_top++] = x;
	else
		mark_overflow = true; /* found again by the rescan in mark_all */
}

static void mark_children(cell *c)
{
	switch (c->tag & 0xff) {
	case T_PAIR:
		mark(c->a);
		mark(c->b);
		break;
	case T_SYMBOL:
	case T_CLOSURE:
	case T_BINDING:
		mark(c->a);
		mark(c->b);
		mark(c->c);
		break;
	case T_FRAME:
		mark(c->a);
		mark(c->c);
		break;
	default: /* strings (a is a raw address), builtins, free cells */
		break;
	}
}

static void drain_mark_stack(void)
{
	while (mark_top > 0)
		mark_children(CELL(mark_stack[--mark_top]));
}

/* A word from the C stack: if it points anywhere into a used cell, that cell is live. */
static void mark_conservative(uint32_t w)
{
	uintptr_t lo = (uintptr_t)cells, hi = lo + cells_used_limit * sizeof(cell);
	if (w < lo || w >= hi)
		return;
	cell *c = (cell *)(w & ~(uintptr_t)15);
	if ((c->tag & 0xff) != T_FREE) {
		if (pinning)
			c->tag |= PIN_BIT;
		mark(OBJ(c));
	}
}

/* Scans the C stack from the current sp to its top, registers included. */
static void __attribute__((noinline)) mark_c_stack(void)
{
	jmp_buf regs;
	setjmp(regs); /* spills the callee-saved registers into this frame */
	uintptr_t sp;
	__asm__ volatile("mv %0, sp" : "=r"(sp));
	for (uint32_t *p = (uint32_t *)sp; p < (uint32_t *)__stack; p++) {
		mark_conservative(*p);
		drain_mark_stack();
	}
}

static void mark_all(void)
{
	mark_top = 0;
	mark_overflow = false;
	mark(symbol_list);
	drain_mark_stack();
	for (uint32_t i = 0; i < arg_top; i++) {
		mark(arg_stack[i]);
		drain_mark_stack();
	}
	mark_c_stack();
	while (mark_overflow) {
		mark_overflow = false;
		for (uint32_t i = 0; i < cells_used_limit; i++) {
			if (cells[i].tag & MARK_BIT) {
				mark_children(&cells[i]);
				drain_mark_stack();
			}
		}
	}
}

/* ---- sweeping ---- */

/* Slides the bodies of live strings down over the dead ones. */
static void compact_strings(void)
{
	uint8_t *from = pool, *to = pool;
	while (from < pool_top) {
		struct string_body *b = (struct string_body *)from;
		uint32_t size = body_size(b->length);
		cell *owner = CELL(b->owner);
		if ((owner->tag & MARK_BIT) && (owner->tag & 0xff) == T_STRING &&
		    owner->a == (uint32_t)(uintptr_t)b->bytes) {
			if (to != from)
				memmove(to, from, size);
			owner->a = (uint32_t)(uintptr_t)((struct string_body *)to)->bytes;
			to += size;
		}
		from += size;
	}
	pool_top = to;
}

static void sweep(void)
{
	free_list = NIL;
	free_count = 0;
	/* Fresh cells stay zero; a pinned cell left there that died becomes zero too. */
	for (uint32_t i = cells_fresh; i < cells_used_limit; i++) {
		cell *c = &cells[i];
		if (c->tag & MARK_BIT) {
			c->tag &= ~MARK_BIT;
			continue;
		}
		if (c->tag != 0)
			*c = (cell){0, 0, 0, 0};
		free_count++;
	}
	for (uint32_t i = cells_fresh; i-- > 0;) {
		cell *c = &cells[i];
		if (c->tag & MARK_BIT) {
			c->tag &= ~MARK_BIT;
		} else {
			c->tag = T_FREE;
			c->a = free_list;
			free_list = OBJ(c);
			free_count++;
		}
	}
}

void gc(void)
{
	mark_all();
	compact_strings();
	sweep();
	collections++;
	/* More than half still live: grow the part in use (doubling) rather than collect
	 * again almost at once. */
	if (free_count < cells_used_limit / 2 && cells_used_limit < CELLS_MAX) {
		uint32_t old = cells_used_limit;
		grow_to(old * 2 < CELLS_MAX ? old * 2 : CELLS_MAX);
	}
}

/* alloc_cell (lisp.h) found the free list empty: a fresh cell, or collect and retry. */
obj alloc_cell_slow(unsigned type, obj a, obj b, obj c)
{
	cell *p = take_fresh();
	if (p == NULL) {
		gc();
		if (free_list != NIL)
			return alloc_cell(type, a, b, c);
		p = take_fresh();
		if (p == NULL)
			lisp_error("out of memory (heap full)", NO_IRRITANT);
	}
	free_count--;
	p->tag = type;
	p->a = a;
	p->b = b;
	p->c = c;
	return OBJ(p);
}

obj cons(obj a, obj b) { return alloc_cell(T_PAIR, a, b, NIL); }

/* ---- strings ---- */

obj make_string_uninit(uint32_t len)
{
	if (len > STRING_POOL / 2)
		lisp_error("string too long", make_fixnum((int32_t)len));
	/* The cell first: collecting for it may move the pool's contents. */
	obj s = alloc_cell(T_STRING, 0, len, NIL);
	uint32_t size = body_size(len);
	if ((uint32_t)(pool_end - pool_top) < size) {
		gc(); /* s is live: it is in a local variable */
		if ((uint32_t)(pool_end - pool_top) < size)
			lisp_error("out of memory (string space full)", NO_IRRITANT);
	}
	struct string_body *b = (struct string_body *)pool_top;
	pool_top += size;
	if (pool_top > pool_high)
		pool_high = pool_top;
	b->owner = s;
	b->length = len;
	b->bytes[len] = '\0';
	CELL(s)->a = (uint32_t)(uintptr_t)b->bytes;
	return s;
}

obj make_string(const char *bytes, uint32_t len)
{
	obj s = make_string_uninit(len);
	memcpy((char *)string_bytes(s), bytes, len);
	return s;
}

/* ---- symbols ---- */

static obj find_symbol(const char *name, uint32_t len)
{
	for (obj s = symbol_list; s != NIL; s = CELL(s)->c) {
		obj n = CELL(s)->a;
		if (string_length(n) == len && memcmp(string_bytes(n), name, len) == 0)
			return s;
	}
	return NIL;
}

static obj new_symbol(obj name)
{
	obj s = alloc_cell(T_SYMBOL, name, UNBOUND, symbol_list);
	symbol_list = s;
	return s;
}

/* The symbol with this name (name is a C buffer, not in the string pool). */
obj intern(const char *name, uint32_t len)
{
	obj s = find_symbol(name, len);
	return s != NIL ? s : new_symbol(make_string(name, len));
}

obj intern_c(const char *name) { return intern(name, strlen(name)); }

/* The symbol named by a string object; a new symbol shares it (strings are immutable). */
obj intern_string(obj str)
{
	obj s = find_symbol(string_bytes(str), string_length(str));
	return s != NIL ? s : new_symbol(str);
}

void arg_stack_overflow(void)
{
	lisp_error("too many pending arguments (recursion too deep)", NO_IRRITANT);
}

void room(struct room *r)
{
	r->cells_total = cells_used_limit;
	r->cells_used = cells_used_limit - free_count;
	r->cells_max = CELLS_MAX;
	r->string_bytes = (uint32_t)(pool_top - pool);
	r->string_max = STRING_POOL;
	r->collections = collections;
}

/* ---- compaction ---- */

/*
 * compact(): a full collection that also moves the live cells to the bottom of the heap
 * and clears everything freed, so the heap's unused part is zero bytes (a saved world
 * stores zero pages as nothing). Two fingers: the lowest free cell takes the highest
 * movable live cell, which leaves a forwarding address behind; then every pointer is
 * updated. Cells all have the same size, so the result is dense up to the meeting point.
 *
 * Cells that a word on the C stack points into are pinned: such a word may be a
 * pointer held by C code (compact runs inside a builtin, deep in eval), so it cannot
 * be changed and its cell stays where it is. At the prompt there are almost none.
 */
#define FORWARD (T_FREE | FORWARD_BIT)

static obj forward(obj x)
{
	if (is_ptr(x) && CELL(x)->tag == FORWARD)
		return CELL(x)->a;
	return x;
}

static void forward_children(cell *c)
{
	switch (c->tag & 0xff) {
	case T_PAIR:
		c->a = forward(c->a);
		c->b = forward(c->b);
		break;
	case T_SYMBOL:
	case T_CLOSURE:
	case T_BINDING:
		c->a = forward(c->a);
		c->b = forward(c->b);
		c->c = forward(c->c);
		break;
	case T_FRAME:
		c->a = forward(c->a);
		c->c = forward(c->c);
		break;
	default:
		break;
	}
}

static bool movable(const cell *c) { return (c->tag & (MARK_BIT | PIN_BIT)) == MARK_BIT; }

void compact(struct compact_report *r)
{
	room(&r->before);
	r->limit_before = cells_used_limit;
	pinning = true;
	mark_all();
	pinning = false;
	compact_strings(); /* reads owners at their old places: before any cell moves */

	uint32_t lo = 0, hi = cells_used_limit, moved = 0;
	for (;;) {
		while (lo < hi && (cells[lo].tag & MARK_BIT))
			lo++;
		while (hi > lo && !movable(&cells[hi - 1]))
			hi--;
		if (hi <= lo)
			break;
		cell *from = &cells[hi - 1], *to = &cells[lo];
		*to = *from;
		if ((to->tag & 0xff) == T_STRING)
			((struct string_body *)(uintptr_t)(to->a - sizeof(struct string_body)))->owner = OBJ(to);
		from->tag = FORWARD;
		from->a = OBJ(to);
		lo++;
		hi--;
		moved++;
	}
	uint32_t dense = lo; /* [0, dense) is all live */

	/* Update every pointer: the live cells (dense ones and pinned ones above), the roots. */
	uint32_t live = dense, top = dense, pinned = 0;
	for (uint32_t i = 0; i < cells_used_limit; i++) {
		cell *c = &cells[i];
		if (!(c->tag & MARK_BIT))
			continue;
		forward_children(c);
		if (c->tag & PIN_BIT)
			pinned++;
		if (i >= dense) {
			live++;
			top = i + 1;
		}
	}
	symbol_list = forward(symbol_list);
	for (uint32_t i = 0; i < arg_top; i++)
		arg_stack[i] = forward(arg_stack[i]);
	for (uint32_t i = 0; i < gc_root_count; i++)
		*gc_roots[i] = forward(*gc_roots[i]);

	/* Unmark; everything that is not live above the dense part becomes zero. */
	for (uint32_t i = 0; i < dense; i++)
		cells[i].tag &= ~(MARK_BIT | PIN_BIT);
	for (uint32_t i = dense; i < cells_used_limit; i++) {
		cell *c = &cells[i];
		if (c->tag & MARK_BIT)
			c->tag &= ~(MARK_BIT | PIN_BIT);
		else if (c->tag != 0 || c->a != 0 || c->b != 0 || c->c != 0)
			*c = (cell){0, 0, 0, 0};
	}

	/* The part in use: the smallest doubling of CELLS_INITIAL that holds the live cells
	 * with at least half of it free (what gc would grow to), and the pinned ones. */
	uint32_t limit = CELLS_INITIAL;
	while (limit < CELLS_MAX && (limit < top || live > limit / 2))
		limit *= 2;
	if (limit < cells_used_limit) {
		cells_used_limit = limit;
	} else if (limit > cells_used_limit) {
		grow_to(limit);
	}
	cells_fresh = dense;
	free_list = NIL;
	free_count = cells_used_limit - live;

	/* The other arenas: string bodies above the top, the argument stack above its top,
	 * the mark stack. (The C stack below sp: see scrub_stack_below in main.c.) */
	zero_words(pool_top, pool_high);
	pool_high = pool_top;
	zero_words(arg_stack + arg_top, arg_stack + ARG_STACK_SIZE);
	zero_words(mark_stack, mark_stack + MARK_STACK);
	collections++;

	room(&r->after);
	r->moved = moved;
	r->live = live;
	r->top = top;
	r->pinned = pinned;
}
