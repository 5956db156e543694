/*
 * strings: picolibc's string, conversion and heap functions.
 *
 * - malloc/calloc/realloc/free, including blocks of 1 MiB and more (the heap grows
 *   through sbrk between __heap_start and __heap_end from link.ld), reuse after free,
 *   and a failing huge allocation;
 * - qsort and bsearch;
 * - sprintf/snprintf (truncation, return values), sscanf, strtol/strtoul/atoi;
 * - strlen strcmp strncmp strcpy strncpy strcat strchr strrchr strstr strtok_r
 *   memcpy memmove (overlapping) memset memcmp memchr.
 * Prints results and checks them; never prints addresses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/check.h"

/* Truncation is what some checks are about. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wstringop-truncation"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void heap(void)
{
	/* Small blocks: fill, verify, free in a different order. */
	char *blocks[64];
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc((size_t)(i * 7 + 1));
		CHECK(blocks[i] != NULL);
		memset(blocks[i], i, (size_t)(i * 7 + 1));
	}
	int intact = 1;
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < i * 7 + 1; j++)
			if (blocks[i][j] != (char)i)
				intact = 0;
	CHECK("64 small blocks intact" && intact);
	for (int i = 0; i < 64; i += 2)
		free(blocks[i]);
	for (int i = 1; i < 64; i += 2)
		free(blocks[i]);

	/* Alignment of malloc results (8 bytes). */
	int aligned = 1;
	for (int i = 1; i < 40; i += 3) {
		void *p = malloc((size_t)i);
		if ((uintptr_t)p & 7)
			aligned = 0;
		free(p);
	}
	CHECK("malloc results are 8-byte aligned" && aligned);

	/* calloc zeroes, realloc keeps contents. */
	uint32_t *z = calloc(1000, sizeof *z);
	CHECK(z != NULL);
	uint32_t nonzero = 0;
	for (int i = 0; i < 1000; i++)
		nonzero |= z[i];
	CHECK_EQ("calloc zeroed", nonzero, 0);
	for (int i = 0; i < 1000; i++)
		z[i] = (uint32_t)i * 2654435761u;
	z = realloc(z, 100000 * sizeof *z);
	CHECK(z != NULL);
	int kept = 1;
	for (int i = 0; i < 1000; i++)
		if (z[i] != (uint32_t)i * 2654435761u)
			kept = 0;
	CHECK("realloc kept contents" && kept);
	free(z);

	/* Big blocks: 4 x 4 MiB, touched at both ends. */
	uint8_t *big[4];
	for (int i = 0; i < 4; i++) {
		big[i] = malloc(4u << 20);
		CHECK(big[i] != NULL);
		if (big[i]) {
			big[i][0] = (uint8_t)(0xa0 + i);
			big[i][(4u << 20) - 1] = (uint8_t)(0xb0 + i);
		}
	}
	int big_ok = 1;
	for (int i = 0; i < 4; i++)
		if (!big[i] || big[i][0] != 0xa0 + i || big[i][(4u << 20) - 1] != 0xb0 + i)
			big_ok = 0;
	CHECK("4 x 4 MiB blocks" && big_ok);
	for (int i = 0; i < 4; i++)
		free(big[i]);

	/* A request larger than RAM fails cleanly. */
	void *huge = malloc(512u << 20);
	CHECK("malloc(512 MiB) returns NULL" && huge == NULL);
	printf("heap: small, aligned, calloc/realloc, 4 x 4 MiB, 512 MiB refused\n");
}

static void sorting(void)
{
	int a[200];
	uint32_t x = 12345;
	for (int i = 0; i < 200; i++) {
		x = x * 1103515245u + 12345u;
		a[i] = (int)(x >> 8) % 1000 - 500;
	}
	qsort(a, 200, sizeof a[0], cmp_int);
	int sorted = 1;
	for (int i = 1; i < 200; i++)
		if (a[i - 1] > a[i])
			sorted = 0;
	CHECK("qsort ints" && sorted);
	printf("qsort: min %d, median %d, max %d\n", a[0], a[100], a[199]);

	int key = a[137];
	int *found = bsearch(&key, a, 200, sizeof a[0], cmp_int);
	CHECK("bsearch finds" && found && *found == key);
	key = 1000;
	CHECK("bsearch misses" && bsearch(&key, a, 200, sizeof a[0], cmp_int) == NULL);

	const char *words[] = { "pear", "apple", "fig", "banana", "cherry", "apricot", "date" };
	qsort(words, 7, sizeof words[0], cmp_str);
	printf("qsort strings:");
	for (int i = 0; i < 7; i++)
		printf(" %s", words[i]);
	printf("\n");
	CHECK(strcmp(words[0], "apple") == 0 && strcmp(words[6], "pear") == 0);
}

static void formatting(void)
{
	char buf[64];
	int n = sprintf(buf, "%s-%d-%x-%c", "amber", -42, 0xbeefu, '!');
	CHECK_EQ("sprintf length", n, 16);
	CHECK(strcmp(buf, "amber--42-beef-!") == 0);

	n = snprintf(buf, 8, "%s", "truncated string");
	CHECK_EQ("snprintf returns the full length", n, 16);
	CHECK(strcmp(buf, "truncat") == 0);
	n = snprintf(NULL, 0, "%d", 123456);
	CHECK_EQ("snprintf(NULL, 0)", n, 6);

	int i1, i2;
	char word[16];
	unsigned hex;
	int got = sscanf("  17 -3 word 0x1F", "%d %d %15s %x", &i1, &i2, word, &hex);
	CHECK_EQ("sscanf count", got, 4);
	CHECK_EQ("sscanf 1", i1, 17);
	CHECK_EQ("sscanf 2", i2, -3);
	CHECK(strcmp(word, "word") == 0);
	CHECK_EQ("sscanf hex", hex, 0x1f);

	char *end;
	CHECK_EQ("strtol base 10", strtol("-12345xyz", &end, 10), -12345);
	CHECK(strcmp(end, "xyz") == 0);
	CHECK_EQ("strtol base 16", strtol("0x7fffffff", NULL, 16), 0x7fffffff);
	CHECK_EQ("strtol base 0 octal", strtol("0777", NULL, 0), 511);
	CHECK_EQ("strtol clamps", strtol("99999999999", NULL, 10), 0x7fffffff);
	CHECK_EQ("strtoul", strtoul("4294967295", NULL, 10), 0xffffffffu);
	CHECK_EQ("strtoul base 2", strtoul("101010", NULL, 2), 42);
	CHECK_EQ("atoi", atoi("  -77"), -77);
	CHECK_EQ64("strtoll", strtoll("-9223372036854775807", NULL, 10), -9223372036854775807ll);
	CHECK_EQ64("strtoull", strtoull("18446744073709551615", NULL, 10), 18446744073709551615ull);
	printf("formatting: [%s] [%8.3s] [%-6s|]\n", "ok", "abcdef", "left");
}

static void string_functions(void)
{
	char buf[64];
	CHECK_EQ("strlen", strlen("hello, world"), 12);
	CHECK_EQ("strlen empty", strlen(""), 0);
	CHECK(strcmp("abc", "abd") < 0);
	CHECK(strcmp("abc", "abc") == 0);
	CHECK(strcmp("b", "abc") > 0);
	CHECK(strcmp("\xff", "a") > 0);		/* compared as unsigned char */
	CHECK(strncmp("abcdef", "abcxyz", 3) == 0);
	CHECK(strncmp("abcdef", "abcxyz", 4) < 0);

	strcpy(buf, "foo");
	strcat(buf, "bar");
	strncat(buf, "bazqux", 3);
	CHECK(strcmp(buf, "foobarbaz") == 0);
	memset(buf, 'x', sizeof buf);
	strncpy(buf, "ab", 5);
	CHECK(buf[0] == 'a' && buf[1] == 'b' && buf[2] == 0 && buf[4] == 0 && buf[5] == 'x');

	const char *s = "the quick brown fox jumps over the lazy dog";
	CHECK_EQ("strchr", strchr(s, 'q') - s, 4);
	CHECK_EQ("strrchr", strrchr(s, 'o') - s, 41);
	CHECK_EQ("strstr", strstr(s, "fox") - s, 16);
	CHECK(strstr(s, "cat") == NULL);
	CHECK_EQ("strchr NUL", strchr(s, 0) - s, 43);
	CHECK_EQ("strspn", strspn("aaabbbccc", "ab"), 6);
	CHECK_EQ("strcspn", strcspn("hello world", " "), 5);

	char text[] = "alpha,beta,,gamma";
	char *save, *tok;
	int count = 0;
	printf("strtok_r:");
	for (tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		printf(" [%s]", tok);
		count++;
	}
	printf("\n");
	CHECK_EQ("strtok_r tokens", count, 3);

	/* memmove with overlap in both directions. */
	char m[] = "0123456789";
	memmove(m + 2, m, 5);
	CHECK(strcmp(m, "0101234789") == 0);
	char m2[] = "0123456789";
	memmove(m2, m2 + 3, 7);
	CHECK(strcmp(m2, "3456789789") == 0);

	uint8_t a[100], b[100];
	for (int i = 0; i < 100; i++)
		a[i] = (uint8_t)(i * 3);
	memcpy(b, a, 100);
	CHECK(memcmp(a, b, 100) == 0);
	b[99] ^= 1;
	CHECK(memcmp(a, b, 100) != 0);
	CHECK(memcmp(a, b, 99) == 0);
	CHECK(memchr(a, 30, 100) == a + 10);
	CHECK(memchr(a, 1, 100) == NULL);

	/* Unaligned memcpy/memset of odd lengths. */
	uint8_t big[300], big2[300];
	for (int i = 0; i < 300; i++)
		big[i] = (uint8_t)(i ^ 0x5a);
	memset(big2, 0, sizeof big2);
	memcpy(big2 + 3, big + 1, 257);
	int ok = big2[2] == 0 && big2[260] == 0;
	for (int i = 0; i < 257; i++)
		if (big2[3 + i] != big[1 + i])
			ok = 0;
	CHECK("unaligned memcpy" && ok);
	memset(big2 + 1, 0xee, 277);
	CHECK(big2[0] == 0 && big2[1] == 0xee && big2[277] == 0xee && big2[278] == 0);
}

int main(void)
{
	heap();
	sorting();
	formatting();
	string_functions();
	return check_done("strings");
}
