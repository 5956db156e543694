/*
 * check.h — tiny self-checking helpers for Amber guest programs.
 *
 * Each CHECK macro prints one line only when it fails and counts checks and failures.
 * main() ends with `return check_done("name");`, which prints
 *   "name: N checks passed"            when everything passed, or
 *   "name: F of N checks FAILED"       otherwise,
 * and returns the number of failures, so the exit code is non-zero on failure.
 *
 * Output must stay deterministic: never print addresses or host-dependent values.
 */
#ifndef AMBER_CHECK_H
#define AMBER_CHECK_H

#include <stdint.h>
#include <stdio.h>

static unsigned check_total;
static unsigned check_failed;

static void __attribute__((noinline, unused))
check_eq_(const char *what, uint32_t got, uint32_t want, int line)
{
	check_total++;
	if (got != want) {
		check_failed++;
		printf("FAIL line %d: %s: got 0x%08lx, want 0x%08lx\n", line, what,
		       (unsigned long)got, (unsigned long)want);
	}
}

static void __attribute__((noinline, unused))
check_eq64_(const char *what, uint64_t got, uint64_t want, int line)
{
	check_total++;
	if (got != want) {
		check_failed++;
		printf("FAIL line %d: %s: got 0x%016llx, want 0x%016llx\n", line, what,
		       (unsigned long long)got, (unsigned long long)want);
	}
}

static void __attribute__((noinline, unused))
check_true_(const char *what, int ok, int line)
{
	check_total++;
	if (!ok) {
		check_failed++;
		printf("FAIL line %d: %s\n", line, what);
	}
}

/* CHECK_EQ("what", got, want): 32-bit comparison (values are converted to uint32_t). */
#define CHECK_EQ(what, got, want) check_eq_((what), (uint32_t)(got), (uint32_t)(want), __LINE__)
/* CHECK_EQ64("what", got, want): 64-bit comparison. */
#define CHECK_EQ64(what, got, want) check_eq64_((what), (uint64_t)(got), (uint64_t)(want), __LINE__)
/* CHECK(cond): the condition's source text is the message. */
#define CHECK(cond) check_true_(#cond, !!(cond), __LINE__)
/* CHECK_MSG(message, cond): with a message built at run time. */
#define CHECK_MSG(msg, cond) check_true_((msg), !!(cond), __LINE__)

static int __attribute__((noinline, unused))
check_done(const char *name)
{
	if (check_failed)
		printf("%s: %u of %u checks FAILED\n", name, check_failed, check_total);
	else
		printf("%s: %u checks passed\n", name, check_total);
	return (int)check_failed;
}

#endif /* AMBER_CHECK_H */
