/*
 * Builtin procedures. Each gets its evaluated arguments as argv[0..argc) (a slice of
 * the argument stack, so they stay GC roots while the builtin allocates) after the
 * evaluator has checked argc against the table's bounds.
 *
 * Integers are fixnums (-2^30 .. 2^30-1): a result outside that range is an error
 * ("integer overflow"), never a silent wrap. `/` truncates toward zero, `mod` takes
 * the sign of the divisor (Scheme's modulo).
 */
#include <stdio.h>
#include <string.h>

#include "lisp.h"

#define ANY 255

static char message[96];

static void __attribute__((noreturn)) type_error(const char *who, const char *expected, obj culprit)
{
	snprintf(message, sizeof message, "%s: not %s", who, expected);
	lisp_error(message, culprit);
}

static int32_t number_arg(obj x, const char *who)
{
	if (!is_fixnum(x))
		type_error(who, "a number", x);
	return fixnum_value(x);
}

static obj string_arg(obj x, const char *who)
{
	if (!is_string(x))
		type_error(who, "a string", x);
	return x;
}

static obj fixnum_result(int64_t v, const char *who)
{
	if (v < FIXNUM_MIN || v > FIXNUM_MAX) {
		snprintf(message, sizeof message, "%s: integer overflow", who);
		lisp_error(message, NO_IRRITANT);
	}
	return make_fixnum((int32_t)v);
}

static int32_t proper_length(obj x, const char *who)
{
	int32_t n = 0;
	obj start = x;
	for (; is_pair(x); x = cdr(x))
		n++;
	if (x != NIL)
		type_error(who, "a proper list", start);
	return n;
}

/* ---- pairs and lists ---- */

static obj b_car(obj *argv, uint32_t argc)
{
	if (!is_pair(argv[0]))
		type_error("car", "a pair", argv[0]);
	return car(argv[0]);
}

static obj b_cdr(obj *argv, uint32_t argc)
{
	if (!is_pair(argv[0]))
		type_error("cdr", "a pair", argv[0]);
	return cdr(argv[0]);
}

static obj b_cadr(obj *argv, uint32_t argc)
{
	if (!is_pair(argv[0]) || !is_pair(cdr(argv[0])))
		type_error("cadr", "a list of two or more elements", argv[0]);
	return car(cdr(argv[0]));
}

static obj b_cons(obj *argv, uint32_t argc) { return cons(argv[0], argv[1]); }

static obj b_list(obj *argv, uint32_t argc)
{
	obj list = NIL;
	while (argc > 0)
		list = cons(argv[--argc], list);
	return list;
}

static obj b_null(obj *argv, uint32_t argc) { return boolean(argv[0] == NIL); }
static obj b_pair(obj *argv, uint32_t argc) { return boolean(is_pair(argv[0])); }
static obj b_eq(obj *argv, uint32_t argc) { return boolean(argv[0] == argv[1]); }

bool equal(obj a, obj b)
{
	for (;;) {
		check_stack();
		if (a == b)
			return true;
		if (is_string(a) && is_string(b))
			return string_length(a) == string_length(b) &&
			       memcmp(string_bytes(a), string_bytes(b), string_length(a)) == 0;
		if (!is_pair(a) || !is_pair(b))
			return false;
		if (!equal(car(a), car(b)))
			return false;
		a = cdr(a);
		b = cdr(b);
	}
}

static obj b_equal(obj *argv, uint32_t argc) { return boolean(equal(argv[0], argv[1])); }

static obj b_length(obj *argv, uint32_t argc) { return make_fixnum(proper_length(argv[0], "length")); }

static obj b_append(obj *argv, uint32_t argc)
{
	if (argc == 0)
		return NIL;
	obj head = NIL, tail = NIL;
	for (uint32_t i = 0; i + 1 < argc; i++) {
		proper_length(argv[i], "append");
		for (obj x = argv[i]; x != NIL; x = cdr(x)) {
			obj p = cons(car(x), NIL);
			if (head == NIL)
				head = p;
			else
				CELL(tail)->b = p;
			tail = p;
		}
	}
	if (head == NIL)
		return argv[argc - 1];
	CELL(tail)->b = argv[argc - 1]; /* the last list is shared, as in Scheme */
	return head;
}

static obj b_reverse(obj *argv, uint32_t argc)
{
	proper_length(argv[0], "reverse");
	obj r = NIL;
	for (obj x = argv[0]; x != NIL; x = cdr(x))
		r = cons(car(x), r);
	return r;
}

/* (map f list1 list2 ...): stops at the shortest list. */
static obj b_map(obj *argv, uint32_t argc)
{
	obj f = argv[0];
	if (!is_procedure(f))
		type_error("map", "a procedure", f);
	obj head = NIL, tail = NIL;
	for (;;) {
		for (uint32_t i = 1; i < argc; i++)
			if (!is_pair(argv[i]))
				return head;
		uint32_t base = arg_top;
		for (uint32_t i = 1; i < argc; i++) {
			arg_push(car(argv[i]));
			argv[i] = cdr(argv[i]); /* our own argument slots: they keep the rest alive */
		}
		obj v = apply_procedure(f, base, argc - 1);
		obj p = cons(v, NIL);
		if (head == NIL)
			head = p;
		else
			CELL(tail)->b = p;
		tail = p;
	}
}

/* ---- numbers ---- */

static obj b_add(obj *argv, uint32_t argc)
{
	int64_t sum = 0;
	for (uint32_t i = 0; i < argc; i++) {
		sum += number_arg(argv[i], "+");
		if (sum < FIXNUM_MIN || sum > FIXNUM_MAX)
			fixnum_result(sum, "+");
	}
	return make_fixnum((int32_t)sum);
}

static obj b_sub(obj *argv, uint32_t argc)
{
	int64_t r = number_arg(argv[0], "-");
	if (argc == 1)
		return fixnum_result(-r, "-");
	for (uint32_t i = 1; i < argc; i++) {
		r -= number_arg(argv[i], "-");
		if (r < FIXNUM_MIN || r > FIXNUM_MAX)
			fixnum_result(r, "-");
	}
	return make_fixnum((int32_t)r);
}

static obj b_mul(obj *argv, uint32_t argc)
{
	int64_t r = 1;
	for (uint32_t i = 0; i < argc; i++) {
		r *= number_arg(argv[i], "*");
		if (r < FIXNUM_MIN || r > FIXNUM_MAX)
			fixnum_result(r, "*");
	}
	return make_fixnum((int32_t)r);
}

static obj b_div(obj *argv, uint32_t argc)
{
	int64_t r = number_arg(argv[0], "/");
	for (uint32_t i = 1; i < argc; i++) {
		int32_t d = number_arg(argv[i], "/");
		if (d == 0)
			lisp_error("/: division by zero", NO_IRRITANT);
		r /= d;
	}
	return fixnum_result(r, "/"); /* -2^30 / -1 does not fit */
}

static obj b_mod(obj *argv, uint32_t argc)
{
	int32_t a = number_arg(argv[0], "mod"), d = number_arg(argv[1], "mod");
	if (d == 0)
		lisp_error("mod: division by zero", NO_IRRITANT);
	int32_t r = a % d;
	if (r != 0 && (r < 0) != (d < 0))
		r += d;
	return make_fixnum(r);
}

enum compare { LT, GT, EQ, LE, GE };

static obj compare(obj *argv, uint32_t argc, enum compare op, const char *who)
{
	bool result = true;
	for (uint32_t i = 0; i < argc; i++) {
		int32_t b = number_arg(argv[i], who); /* every argument is checked */
		if (i == 0)
			continue;
		int32_t a = fixnum_value(argv[i - 1]);
		bool ok = op == LT ? a < b : op == GT ? a > b : op == EQ ? a == b : op == LE ? a <= b : a >= b;
		result = result && ok;
	}
	return boolean(result);
}

static obj b_lt(obj *argv, uint32_t argc) { return compare(argv, argc, LT, "<"); }
static obj b_gt(obj *argv, uint32_t argc) { return compare(argv, argc, GT, ">"); }
static obj b_num_eq(obj *argv, uint32_t argc) { return compare(argv, argc, EQ, "="); }
static obj b_le(obj *argv, uint32_t argc) { return compare(argv, argc, LE, "<="); }
static obj b_ge(obj *argv, uint32_t argc) { return compare(argv, argc, GE, ">="); }

/* ---- predicates ---- */

static obj b_not(obj *argv, uint32_t argc) { return boolean(argv[0] == FALSE); }
static obj b_numberp(obj *argv, uint32_t argc) { return boolean(is_fixnum(argv[0])); }
static obj b_stringp(obj *argv, uint32_t argc) { return boolean(is_string(argv[0])); }
static obj b_symbolp(obj *argv, uint32_t argc) { return boolean(is_symbol(argv[0])); }
static obj b_procedurep(obj *argv, uint32_t argc) { return boolean(is_procedure(argv[0])); }

/* ---- strings and symbols ---- */

static obj b_string_append(obj *argv, uint32_t argc)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < argc; i++)
		total += string_length(string_arg(argv[i], "string-append"));
	obj s = make_string_uninit(total);
	/* Only now take the bytes' addresses: allocating may have moved string bodies. */
	char *to = (char *)string_bytes(s);
	for (uint32_t i = 0; i < argc; i++) {
		memcpy(to, string_bytes(argv[i]), string_length(argv[i]));
		to += string_length(argv[i]);
	}
	return s;
}

static obj b_string_length(obj *argv, uint32_t argc)
{
	return make_fixnum((int32_t)string_length(string_arg(argv[0], "string-length")));
}

/* (substring s start [end]): bytes start .. end-1. */
static obj b_substring(obj *argv, uint32_t argc)
{
	obj s = string_arg(argv[0], "substring");
	int32_t len = (int32_t)string_length(s);
	int32_t start = number_arg(argv[1], "substring");
	int32_t end = argc > 2 ? number_arg(argv[2], "substring") : len;
	if (start < 0 || end > len || start > end)
		lisp_error("substring: index out of range", argc > 2 ? cons(argv[1], cons(argv[2], NIL)) : argv[1]);
	obj r = make_string_uninit((uint32_t)(end - start));
	memcpy((char *)string_bytes(r), string_bytes(argv[0]) + start, (uint32_t)(end - start));
	return r;
}

static obj b_string_eq(obj *argv, uint32_t argc)
{
	string_arg(argv[0], "string=?");
	string_arg(argv[1], "string=?");
	return boolean(equal(argv[0], argv[1]));
}

static obj b_number_to_string(obj *argv, uint32_t argc)
{
	char digits[16];
	int n = snprintf(digits, sizeof digits, "%ld", (long)number_arg(argv[0], "number->string"));
	return make_string(digits, (uint32_t)n);
}

static obj b_string_to_symbol(obj *argv, uint32_t argc)
{
	return intern_string(string_arg(argv[0], "string->symbol"));
}

static obj b_symbol_to_string(obj *argv, uint32_t argc)
{
	if (!is_symbol(argv[0]))
		type_error("symbol->string", "a symbol", argv[0]);
	return CELL(argv[0])->a; /* immutable, so the name itself */
}

/* ---- output ---- */

static obj b_display(obj *argv, uint32_t argc)
{
	print_obj(argv[0], false);
	return UNSPEC;
}

static obj b_write(obj *argv, uint32_t argc)
{
	print_obj(argv[0], true);
	return UNSPEC;
}

static obj b_newline(obj *argv, uint32_t argc)
{
	console_putc('\n');
	return UNSPEC;
}

/* (print x): x as `write` shows it, then a newline. */
static obj b_print(obj *argv, uint32_t argc)
{
	print_obj(argv[0], true);
	console_putc('\n');
	return UNSPEC;
}

/* ---- the system ---- */

static obj b_exit(obj *argv, uint32_t argc)
{
	int32_t code = argc > 0 ? number_arg(argv[0], "exit") : 0;
	if (code < 0 || code > 255)
		lisp_error("exit: the code must be 0 .. 255", argv[0]);
	power_off(code);
}

/* (error "message" [irritant]) */
static obj b_error(obj *argv, uint32_t argc)
{
	snprintf(message, sizeof message, "%s", string_bytes(string_arg(argv[0], "error")));
	lisp_error(message, argc > 1 ? argv[1] : NO_IRRITANT);
}

/* (gc): collects now; the number of cells in use afterwards. */
static obj b_gc(obj *argv, uint32_t argc)
{
	struct room r;
	gc();
	room(&r);
	return make_fixnum((int32_t)r.cells_used);
}

/* (room): prints how full the heap is and how many collections there have been. */
static obj b_room(obj *argv, uint32_t argc)
{
	struct room r;
	room(&r);
	char line[160];
	snprintf(line, sizeof line,
		 "heap: %lu of %lu cells in use (at most %lu, 16 bytes each), strings: %lu of %lu bytes, %lu collections\n",
		 (unsigned long)r.cells_used, (unsigned long)r.cells_total, (unsigned long)r.cells_max,
		 (unsigned long)r.string_bytes, (unsigned long)r.string_max, (unsigned long)r.collections);
	console_puts(line);
	return UNSPEC;
}

/* (compact): a collection that also moves the live cells together and clears all free
 * space (heap.c); the cells in use afterwards. */
static obj b_compact(obj *argv, uint32_t argc)
{
	struct compact_report r;
	compact_and_scrub(&r);
	return make_fixnum((int32_t)r.live);
}

/*
 * (save-world "name"): compacts, then asks the host to save the machine as a world of
 * that name, and waits for its answer. #f: saved, this session goes on; #t: this is a
 * session resumed from that world. A host that refuses answers why (an error).
 */
static obj b_save_world(obj *argv, uint32_t argc)
{
	obj name = string_arg(argv[0], "save-world");
	uint32_t len = string_length(name);
	if (len == 0 || len > 64)
		lisp_error("save-world: the name must be 1 to 64 bytes", name);
	for (uint32_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)string_bytes(name)[i];
		if (ch <= ' ' || ch == 0x7f)
			lisp_error("save-world: the name must not contain blanks or control characters", name);
	}
	snprintf(message, sizeof message, "save-world %s", string_bytes(name));
	struct compact_report r;
	compact_and_scrub(&r);
	console_control(message);
	switch (console_await_reply()) {
	case 's':
		return FALSE;
	case 'r':
		return TRUE;
	case 'e':
		memcpy(message, "save-world: ", 12);
		console_reply_line(message + 12, sizeof message - 12);
		lisp_error(message, NO_IRRITANT);
	default:
		lisp_error("save-world: the host did not answer (it must support Amber's save-world)", NO_IRRITANT);
	}
}

const struct builtin builtins[] = {
	[BUILTIN_APPLY] = {"apply", NULL, 2, ANY},
	{"car", b_car, 1, 1},
	{"cdr", b_cdr, 1, 1},
	{"cadr", b_cadr, 1, 1},
	{"cons", b_cons, 2, 2},
	{"list", b_list, 0, ANY},
	{"null?", b_null, 1, 1},
	{"pair?", b_pair, 1, 1},
	{"eq?", b_eq, 2, 2},
	{"equal?", b_equal, 2, 2},
	{"length", b_length, 1, 1},
	{"append", b_append, 0, ANY},
	{"reverse", b_reverse, 1, 1},
	{"map", b_map, 2, ANY},
	{"+", b_add, 0, ANY},
	{"-", b_sub, 1, ANY},
	{"*", b_mul, 0, ANY},
	{"/", b_div, 2, ANY},
	{"mod", b_mod, 2, 2},
	{"<", b_lt, 1, ANY},
	{">", b_gt, 1, ANY},
	{"=", b_num_eq, 1, ANY},
	{"<=", b_le, 1, ANY},
	{">=", b_ge, 1, ANY},
	{"not", b_not, 1, 1},
	{"number?", b_numberp, 1, 1},
	{"string?", b_stringp, 1, 1},
	{"symbol?", b_symbolp, 1, 1},
	{"procedure?", b_procedurep, 1, 1},
	{"string-append", b_string_append, 0, ANY},
	{"string-length", b_string_length, 1, 1},
	{"substring", b_substring, 2, 3},
	{"string=?", b_string_eq, 2, 2},
	{"number->string", b_number_to_string, 1, 1},
	{"string->symbol", b_string_to_symbol, 1, 1},
	{"symbol->string", b_symbol_to_string, 1, 1},
	{"display", b_display, 1, 1},
	{"write", b_write, 1, 1},
	{"newline", b_newline, 0, 0},
	{"print", b_print, 1, 1},
	{"exit", b_exit, 0, 1},
	{"error", b_error, 1, 2},
	{"gc", b_gc, 0, 0},
	{"room", b_room, 0, 0},
	{"compact", b_compact, 0, 0},
	{"save-world", b_save_world, 1, 1},
};

const uint32_t builtin_count = sizeof builtins / sizeof builtins[0];

void builtins_init(void)
{
	for (uint32_t i = 0; i < builtin_count; i++) {
		obj sym = intern_c(builtins[i].name);
		CELL(sym)->b = alloc_cell(T_BUILTIN, i, NIL, NIL);
	}
}
