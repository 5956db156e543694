/*
 * The reader: console bytes to data.
 *
 *   ( a b . c )   lists and dotted pairs        'x      (quote x)
 *   -123  42      fixnums (out of range: error)  "a\n"   strings (\n \t \\ \" escapes)
 *   #t #f         booleans                        ; ...   comment to the end of the line
 *   anything else up to a delimiter is a symbol (case-sensitive)
 *
 * Prompting is a pure function of the input bytes, never of when they arrive, so the
 * console transcript is the same on every emulator and every run: the prompt is printed
 * once at start-up and then each time a line end is consumed between top-level data.
 * Nothing ever waits for input it does not need: after a datum is complete it is
 * evaluated before the rest of its line is looked at.
 */
#include "lisp.h"

#define TOKEN_MAX 128
#define STRING_LITERAL_MAX 4096

/* What read_token returns for a lone "." (only meaningful inside a list). */
#define DOT ((obj)0x16)

bool reading; /* an error while set leaves the rest of the line unread: main discards it */
static int pushed_back = -1;

static int next_char_raw(void)
{
	if (pushed_back >= 0) {
		int c = pushed_back;
		pushed_back = -1;
		return c;
	}
	return console_getc();
}

/* Inside a datum (or a comment, or a line being dropped): a host request is refused. */
static int next_char(void)
{
	for (;;) {
		int c = next_char_raw();
		if (c != HOST_ESCAPE)
			return c;
		host_request(console_getc(), false);
	}
}

static void unread_char(int c) { pushed_back = c; }

static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\v'; }

static bool is_delimiter(int c)
{
	return is_blank(c) || c == '(' || c == ')' || c == '"' || c == ';' || c == '\'';
}

static void skip_comment(void)
{
	int c;
	while ((c = next_char()) != '\n')
		;
	unread_char('\n');
}

/* Top level: skips blanks and comments, printing the prompt after each line end. */
int skip_to_datum(void)
{
	for (;;) {
		int c = next_char_raw();
		if (c == HOST_ESCAPE)
			host_request(console_getc(), true);
		else if (c == '\n')
			console_prompt();
		else if (c == ';')
			skip_comment();
		else if (!is_blank(c)) {
			unread_char(c);
			return c;
		}
	}
}

/* After a read error: drops the rest of the line, then prompts again. */
void discard_line(void)
{
	while (next_char() != '\n')
		;
	console_prompt();
}

/* Inside a datum: skips blanks (line ends too) and comments; returns the next character. */
static int skip_blanks(void)
{
	for (;;) {
		int c = next_char();
		if (c == ';')
			skip_comment();
		else if (!is_blank(c))
			return c;
	}
}

static obj parse_atom(const char *t, uint32_t n)
{
	uint32_t i = 0;
	bool negative = false;
	if (n > 1 && (t[0] == '-' || t[0] == '+')) {
		negative = t[0] == '-';
		i = 1;
	}
	bool number = i < n;
	for (uint32_t j = i; j < n; j++)
		number = number && t[j] >= '0' && t[j] <= '9';
	if (number) {
		int64_t v = 0;
		for (; i < n; i++) {
			v = v * 10 + (t[i] - '0');
			if (v > (int64_t)FIXNUM_MAX + 1)
				break;
		}
		if (negative)
			v = -v;
		if (v < FIXNUM_MIN || v > FIXNUM_MAX)
			lisp_error("integer out of range (fixnums are -1073741824 .. 1073741823)",
				   make_string(t, n));
		return make_fixnum((int32_t)v);
	}
	if (t[0] == '#') {
		if (n == 2 && t[1] == 't')
			return TRUE;
		if (n == 2 && t[1] == 'f')
			return FALSE;
		lisp_error("bad syntax", make_string(t, n));
	}
	if (n == 1 && t[0] == '.')
		return DOT;
	return intern(t, n);
}

static obj read_token(int first)
{
	char token[TOKEN_MAX];
	uint32_t n = 0;
	token[n++] = (char)first;
	for (;;) {
		int c = next_char();
		if (is_delimiter(c)) {
			unread_char(c);
			break;
		}
		if (n == TOKEN_MAX)
			lisp_error("symbol or number too long", NO_IRRITANT);
		token[n++] = (char)c;
	}
	return parse_atom(token, n);
}

static obj read_string_literal(void)
{
	static char buffer[STRING_LITERAL_MAX];
	uint32_t n = 0;
	for (;;) {
		int c = next_char();
		if (c == '"')
			break;
		if (c == '\\') {
			c = next_char();
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
		}
		if (n == STRING_LITERAL_MAX)
			lisp_error("string literal too long", NO_IRRITANT);
		buffer[n++] = (char)c;
	}
	return make_string(buffer, n);
}

static obj read_item(void);

static obj read_list(void)
{
	obj head = NIL, tail = NIL;
	for (;;) {
		int c = skip_blanks();
		if (c == ')')
			return head;
		unread_char(c);
		obj x = read_item();
		if (x == DOT) {
			if (head == NIL)
				lisp_error("bad dotted list: nothing before the dot", NO_IRRITANT);
			CELL(tail)->b = read_datum();
			if (skip_blanks() != ')')
				lisp_error("bad dotted list: more than one datum after the dot", NO_IRRITANT);
			return head;
		}
		obj p = cons(x, NIL);
		if (head == NIL)
			head = p;
		else
			CELL(tail)->b = p;
		tail = p;
	}
}

/* One datum, or DOT. */
static obj read_item(void)
{
	check_stack();
	int c = skip_blanks();
	switch (c) {
	case '(':
		return read_list();
	case ')':
		lisp_error("unexpected )", NO_IRRITANT);
	case '\'': {
		obj x = read_datum();
		return cons(sym_quote, cons(x, NIL));
	}
	case '"':
		return read_string_literal();
	default:
		return read_token(c);
	}
}

obj read_datum(void)
{
	obj x = read_item();
	if (x == DOT)
		lisp_error("unexpected .", NO_IRRITANT);
	return x;
}
