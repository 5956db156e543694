/*
 * The evaluator.
 *
 * Environments: a chain of frames (T_FRAME cells), each holding a list of bindings
 * (T_BINDING cells: symbol, value, next). The global environment is not a frame: a
 * global's value sits in its symbol cell, so the chain ends in NIL and a global lookup
 * costs one walk of the (short) local chain.
 *
 * Proper tail calls: eval is a loop. Wherever a form's value is the value of a
 * sub-expression in tail position (the branches of if and cond, the last form of a
 * body, begin, let, and, or, the body of a called closure, apply), eval replaces the
 * expression and environment and goes round again instead of calling itself; so a loop
 * written as tail recursion runs in constant C stack, and its dead frames are garbage.
 *
 * Arguments are evaluated left to right onto the argument stack (a GC root), and
 * builtins get a pointer into it, so calls to builtins allocate nothing.
 */
#include <stdio.h>
#include <string.h>

#include "lisp.h"

obj sym_quote;
static obj sym_else;

static void define_special(const char *name, enum special id)
{
	obj s = intern_c(name);
	CELL(s)->tag |= (uint32_t)id << 16;
}

static enum special special_of(obj op)
{
	return is_symbol(op) ? (enum special)(CELL(op)->tag >> 16) : SF_NONE;
}

void eval_init(void)
{
	sym_quote = intern_c("quote");
	sym_else = intern_c("else");
	gc_add_root(&sym_quote);
	gc_add_root(&sym_else);
	define_special("quote", SF_QUOTE);
	define_special("if", SF_IF);
	define_special("define", SF_DEFINE);
	define_special("set!", SF_SET);
	define_special("lambda", SF_LAMBDA);
	define_special("let", SF_LET);
	define_special("let*", SF_LETSTAR);
	define_special("cond", SF_COND);
	define_special("begin", SF_BEGIN);
	define_special("and", SF_AND);
	define_special("or", SF_OR);
}

static void __attribute__((noreturn)) bad_syntax(obj form) { lisp_error("bad syntax", form); }

/* The number of elements of a proper list, or -1. */
static int32_t list_length(obj x)
{
	int32_t n = 0;
	for (; is_pair(x); x = cdr(x))
		n++;
	return x == NIL ? n : -1;
}

/* Where a variable's value is: a local binding, or else the global slot of the symbol. */
static obj *variable_slot(obj sym, obj env)
{
	for (obj f = env; f != NIL; f = CELL(f)->c)
		for (obj b = CELL(f)->a; b != NIL; b = CELL(b)->c)
			if (CELL(b)->a == sym)
				return &CELL(b)->b;
	return &CELL(sym)->b;
}

static obj lookup(obj sym, obj env)
{
	obj v = *variable_slot(sym, env);
	if (v == UNBOUND)
		lisp_error("unbound variable", sym);
	return v;
}

/*
 * The value of an operator or argument. Variables and constants are looked up here
 * rather than in a recursive eval: most operands are one or the other, and a call of
 * eval costs a large frame.
 */
static inline obj eval_operand(obj x, obj env)
{
	if (!is_ptr(x))
		return x;
	unsigned t = type_of(x);
	if (t == T_SYMBOL)
		return lookup(x, env);
	return t == T_PAIR ? eval(x, env) : x;
}

static obj new_frame(obj parent) { return alloc_cell(T_FRAME, NIL, NIL, parent); }

static void add_binding(obj frame, obj sym, obj value)
{
	CELL(frame)->a = alloc_cell(T_BINDING, sym, value, CELL(frame)->a);
}

/* define: at top level a global; inside a body a binding of the innermost frame. */
static void define_variable(obj sym, obj value, obj env)
{
	if (env == NIL) {
		CELL(sym)->b = value;
		return;
	}
	for (obj b = CELL(env)->a; b != NIL; b = CELL(b)->c) {
		if (CELL(b)->a == sym) {
			CELL(b)->b = value;
			return;
		}
	}
	add_binding(env, sym, value);
}

static void check_parameters(obj params, obj form)
{
	for (; is_pair(params); params = cdr(params))
		if (!is_symbol(car(params)))
			lisp_error("bad parameter list", form);
	if (params != NIL && !is_symbol(params))
		lisp_error("bad parameter list", form);
}

static obj make_closure(obj params, obj body, obj env, obj name, obj form)
{
	check_parameters(params, form);
	if (list_length(body) < 1)
		bad_syntax(form);
	return alloc_cell(T_CLOSURE, params, cons(name, body), env);
}

static const char *procedure_name(obj f)
{
	if (type_of(f) == T_BUILTIN)
		return builtins[CELL(f)->a].name;
	obj name = car(CELL(f)->b);
	return is_symbol(name) ? string_bytes(CELL(name)->a) : "#<procedure>";
}

static void __attribute__((noreturn)) arity_error(obj f, uint32_t given)
{
	static char message[96];
	snprintf(message, sizeof message, "%.40s: wrong number of arguments (%lu given)",
		 procedure_name(f), (unsigned long)given);
	lisp_error(message, NO_IRRITANT);
}

/* A closure's new frame: its parameters bound to argv[0..n). */
static obj bind_arguments(obj f, obj *argv, uint32_t n)
{
	obj frame = new_frame(CELL(f)->c);
	obj p = CELL(f)->a;
	uint32_t i = 0;
	for (; is_pair(p); p = cdr(p), i++) {
		if (i >= n)
			arity_error(f, n);
		add_binding(frame, car(p), argv[i]);
	}
	if (p != NIL) { /* (a b . rest) or a lone symbol: the rest as a list */
		obj rest = NIL;
		for (uint32_t j = n; j > i; j--)
			rest = cons(argv[j - 1], rest);
		add_binding(frame, p, rest);
	} else if (i < n) {
		arity_error(f, n);
	}
	return frame;
}

/* apply: arg_stack[base..] holds f, a..., list (n >= 2); makes a... list... f's arguments. */
static obj __attribute__((noinline)) spread_apply(uint32_t base, uint32_t *n)
{
	obj f = arg_stack[base];
	obj list = arg_stack[base + *n - 1];
	if (list_length(list) < 0)
		lisp_error("apply: the last argument is not a list", list);
	memmove(&arg_stack[base], &arg_stack[base + 1], (*n - 2) * sizeof(obj));
	arg_top = base + *n - 2;
	for (; list != NIL; list = cdr(list))
		arg_push(car(list));
	*n = arg_top - base;
	return f;
}

/*
 * Calls f with arg_stack[base..base+n). A builtin runs at once and its value is
 * returned (the arguments popped); for a closure the arguments are bound and popped,
 * *env is set to the new frame and UNBOUND returned: the caller evaluates the body.
 */
static inline obj call(obj f, uint32_t base, uint32_t n, obj *env, obj *closure)
{
	for (;;) {
		unsigned t = type_of(f);
		if (t == T_BUILTIN) {
			uint32_t index = CELL(f)->a;
			const struct builtin *b = &builtins[index];
			if (n < b->min_args || (b->max_args != 255 && n > b->max_args))
				arity_error(f, n);
			if (index == BUILTIN_APPLY) {
				f = spread_apply(base, &n);
				continue;
			}
			obj r = b->fn(&arg_stack[base], n);
			arg_top = base;
			return r;
		}
		if (t == T_CLOSURE) {
			*env = bind_arguments(f, &arg_stack[base], n);
			*closure = f;
			arg_top = base;
			return UNBOUND;
		}
		lisp_error("not a procedure", f);
	}
}

obj apply_procedure(obj f, uint32_t base, uint32_t n)
{
	obj env = NIL, closure = NIL;
	obj r = call(f, base, n, &env, &closure);
	if (r != UNBOUND)
		return r;
	obj body = cdr(CELL(closure)->b);
	for (; cdr(body) != NIL; body = cdr(body))
		eval(car(body), env);
	return eval(car(body), env);
}

/*
 * The forms below run rarely compared with calls, if and variable references, and need
 * many registers: out of line, they keep eval's own frame (saved on every call) small.
 * Those that continue with a body return it with the environment to run it in.
 */
struct body {
	obj body; /* a non-empty list of forms; NIL: no body, the form's value is `value` */
	obj env_or_value;
};

static obj __attribute__((noinline)) eval_define(obj x, obj args, obj env)
{
	if (list_length(args) < 2)
		bad_syntax(x);
	obj target = car(args);
	if (is_pair(target)) { /* (define (name . params) body...) */
		obj name = car(target);
		if (!is_symbol(name))
			bad_syntax(x);
		define_variable(name, make_closure(cdr(target), cdr(args), env, name, x), env);
		return name;
	}
	if (!is_symbol(target) || cdr(cdr(args)) != NIL)
		bad_syntax(x);
	obj value = eval(car(cdr(args)), env);
	if (type_of(value) == T_CLOSURE && car(CELL(value)->b) == FALSE)
		CELL(CELL(value)->b)->a = target; /* name an anonymous lambda */
	define_variable(target, value, env);
	return target;
}

static obj __attribute__((noinline)) eval_set(obj x, obj args, obj env)
{
	if (list_length(args) != 2 || !is_symbol(car(args)))
		bad_syntax(x);
	obj value = eval(car(cdr(args)), env);
	obj *slot = variable_slot(car(args), env);
	if (*slot == UNBOUND)
		lisp_error("set!: unbound variable", car(args));
	*slot = value;
	return UNSPEC;
}

static void check_binding(obj b, obj form)
{
	if (!is_pair(b) || list_length(car(b)) != 2 || !is_symbol(car(car(b))))
		bad_syntax(form);
}

/* (let ((v init) ...) body...) and the named let (let loop ((v init) ...) body...). */
static struct body __attribute__((noinline)) eval_let(obj x, obj args, obj env)
{
	if (list_length(args) < 2)
		bad_syntax(x);
	obj name = NIL;
	if (is_symbol(car(args))) {
		name = car(args);
		args = cdr(args);
		if (list_length(args) < 2)
			bad_syntax(x);
	}
	obj bindings = car(args);
	uint32_t base = arg_top;
	for (obj b = bindings; b != NIL; b = cdr(b)) {
		check_binding(b, x);
		arg_push(eval(car(cdr(car(b))), env));
	}
	obj frame = new_frame(env);
	if (name == NIL) {
		uint32_t i = base;
		for (obj b = bindings; b != NIL; b = cdr(b))
			add_binding(frame, car(car(b)), arg_stack[i++]);
		arg_top = base;
		return (struct body){cdr(args), frame};
	}
	/* Named: a procedure `name` over the variables, visible in its own body, called at once. */
	obj params = NIL, last = NIL;
	for (obj b = bindings; b != NIL; b = cdr(b)) {
		obj p = cons(car(car(b)), NIL);
		if (params == NIL)
			params = p;
		else
			CELL(last)->b = p;
		last = p;
	}
	obj loop = make_closure(params, cdr(args), frame, name, x);
	add_binding(frame, name, loop);
	obj call_frame = bind_arguments(loop, &arg_stack[base], arg_top - base);
	arg_top = base;
	return (struct body){cdr(args), call_frame};
}

static struct body __attribute__((noinline)) eval_let_star(obj x, obj args, obj env)
{
	if (list_length(args) < 2)
		bad_syntax(x);
	obj frame = new_frame(env);
	for (obj b = car(args); b != NIL; b = cdr(b)) {
		check_binding(b, x);
		/* Each init sees the bindings before it: they are already in the frame. */
		add_binding(frame, car(car(b)), eval(car(cdr(car(b))), frame));
	}
	return (struct body){cdr(args), frame};
}

static struct body __attribute__((noinline)) eval_cond(obj x, obj args, obj env)
{
	if (list_length(args) < 0)
		bad_syntax(x);
	for (obj c = args; c != NIL; c = cdr(c)) {
		obj clause = car(c);
		if (list_length(clause) < 1)
			bad_syntax(x);
		if (car(clause) == sym_else)
			return (struct body){cdr(clause) != NIL ? cdr(clause) : NIL, UNSPEC};
		obj test = eval(car(clause), env);
		if (test != FALSE)
			return (struct body){cdr(clause), test}; /* (test) alone: its value */
	}
	return (struct body){NIL, UNSPEC};
}

obj eval(obj x, obj env)
{
	for (;;) {
		check_stack();
		if (!is_ptr(x))
			return x; /* numbers, booleans, () */
		unsigned t = type_of(x);
		if (t == T_SYMBOL)
			return lookup(x, env);
		if (t != T_PAIR)
			return x; /* strings, procedures */

		obj op = car(x), args = cdr(x);
		obj body; /* set by the forms that continue with a body (a list of forms) */
		struct body next;
		switch (special_of(op)) {
		case SF_QUOTE:
			if (list_length(args) != 1)
				bad_syntax(x);
			return car(args);

		case SF_IF: { /* (if test then [else]) */
			obj rest;
			if (!is_pair(args) || !is_pair(rest = cdr(args)))
				bad_syntax(x);
			obj alternative = cdr(rest);
			if (alternative != NIL && (!is_pair(alternative) || cdr(alternative) != NIL))
				bad_syntax(x);
			if (eval_operand(car(args), env) != FALSE)
				x = car(rest);
			else if (alternative != NIL)
				x = car(alternative);
			else
				return UNSPEC;
			continue;
		}

		case SF_DEFINE:
			return eval_define(x, args, env);

		case SF_SET:
			return eval_set(x, args, env);

		case SF_LAMBDA:
			if (list_length(args) < 2)
				bad_syntax(x);
			return make_closure(car(args), cdr(args), env, FALSE, x);

		case SF_LET:
		case SF_LETSTAR:
			next = special_of(op) == SF_LET ? eval_let(x, args, env) : eval_let_star(x, args, env);
			body = next.body;
			env = next.env_or_value;
			break;

		case SF_COND:
			next = eval_cond(x, args, env);
			if (next.body == NIL)
				return next.env_or_value;
			body = next.body;
			break;

		case SF_BEGIN:
			if (list_length(args) < 0)
				bad_syntax(x);
			if (args == NIL)
				return UNSPEC;
			body = args;
			break;

		case SF_AND:
		case SF_OR: {
			bool is_and = special_of(op) == SF_AND;
			if (list_length(args) < 0)
				bad_syntax(x);
			if (args == NIL)
				return is_and ? TRUE : FALSE;
			for (; cdr(args) != NIL; args = cdr(args)) {
				obj v = eval(car(args), env);
				if (is_and ? v == FALSE : v != FALSE)
					return v;
			}
			x = car(args);
			continue;
		}

		default: { /* an application */
			obj f = eval_operand(op, env);
			uint32_t base = arg_top;
			obj a = args;
			for (; is_pair(a); a = cdr(a))
				arg_push(eval_operand(car(a), env));
			if (a != NIL)
				bad_syntax(x);
			obj closure = NIL;
			obj r = call(f, base, arg_top - base, &env, &closure);
			if (r != UNBOUND)
				return r;
			body = cdr(CELL(closure)->b);
			break;
		}
		}

		/* A body: all forms but the last for their effects, the last in tail position. */
		for (; cdr(body) != NIL; body = cdr(body))
			eval(car(body), env);
		x = car(body);
	}
}
