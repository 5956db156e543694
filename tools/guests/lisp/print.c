/*
 * The printer. `write` form reads back where it can (strings quoted and escaped);
 * `display` form prints strings as their bytes. (quote x) prints as 'x.
 */
#include "lisp.h"

#define UNLIMITED (-1)

void print_int(int32_t n)
{
	char digits[12];
	int i = 0;
	uint32_t u = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;
	do {
		digits[i++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		console_putc('-');
	while (i > 0)
		console_putc(digits[--i]);
}

static void print_string(obj s, bool write)
{
	const char *p = string_bytes(s);
	uint32_t n = string_length(s);
	if (!write) {
		console_write(p, n);
		return;
	}
	console_putc('"');
	for (uint32_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '"' || c == '\\') {
			console_putc('\\');
			console_putc(c);
		} else if (c == '\n') {
			console_puts("\\n");
		} else if (c == '\t') {
			console_puts("\\t");
		} else {
			console_putc(c);
		}
	}
	console_putc('"');
}

/*
 * depth: how many more levels of nesting to show (UNLIMITED: all); a limited print also
 * shows at most 12 elements of a list. Error messages use it, so that printing the
 * culprit can neither flood the console nor overflow the stack.
 */
static void print_rec(obj x, bool write, int depth)
{
	check_stack();
	if (is_fixnum(x)) {
		print_int(fixnum_value(x));
		return;
	}
	switch (x) {
	case NIL:
		console_puts("()");
		return;
	case TRUE:
		console_puts("#t");
		return;
	case FALSE:
		console_puts("#f");
		return;
	case UNSPEC:
		console_puts("#<unspecified>");
		return;
	default:
		break;
	}
	if (!is_ptr(x)) {
		console_puts("#<?>");
		return;
	}
	cell *c = CELL(x);
	switch (type_of(x)) {
	case T_SYMBOL:
		print_string(c->a, false);
		return;
	case T_STRING:
		print_string(x, write);
		return;
	case T_CLOSURE: {
		obj name = car(c->b);
		console_puts("#<procedure");
		if (is_symbol(name)) {
			console_putc(' ');
			print_string(CELL(name)->a, false);
		}
		console_putc('>');
		return;
	}
	case T_BUILTIN:
		console_puts("#<builtin ");
		console_puts(builtins[c->a].name);
		console_putc('>');
		return;
	case T_PAIR:
		break;
	default:
		console_puts("#<internal>");
		return;
	}
	if (depth == 0) {
		console_puts("(...)");
		return;
	}
	int next = depth == UNLIMITED ? UNLIMITED : depth - 1;
	if (c->a == sym_quote && is_pair(c->b) && cdr(c->b) == NIL) {
		console_putc('\'');
		print_rec(car(c->b), write, next);
		return;
	}
	console_putc('(');
	int shown = 0;
	for (;;) {
		print_rec(car(x), write, next);
		x = cdr(x);
		shown++;
		if (x == NIL)
			break;
		if (!is_pair(x)) {
			console_puts(" . ");
			print_rec(x, write, next);
			break;
		}
		console_putc(' ');
		if (depth != UNLIMITED && shown == 12) {
			console_puts("...");
			break;
		}
	}
	console_putc(')');
}

void print_obj(obj x, bool write) { print_rec(x, write, UNLIMITED); }

void print_limited(obj x) { print_rec(x, true, 6); }
