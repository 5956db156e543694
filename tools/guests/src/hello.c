/* hello: the smallest useful guest — stdout through semihosting and a few printf formats. */
#include <stdio.h>

int main(void)
{
	printf("Hello from Amber!\n");
	printf("int: %d %d %d\n", 0, 42, -42);
	printf("unsigned: %u %u\n", 0u, 4294967295u);
	printf("hex: %x %X %#x %08x\n", 0xdeadbeefu, 0xcafef00du, 255u, 0x1234u);
	printf("width: [%5d] [%-5d] [%05d]\n", 42, 42, -42);
	printf("char: %c%c%c\n", 'R', 'V', '!');
	printf("string: [%s] [%10s] [%-10s] [%.3s]\n", "amber", "right", "left", "truncate");
	printf("long long: %lld %llx\n", -1234567890123LL, 0x0123456789abcdefULL);
	printf("percent: 100%%\n");
	puts("puts works");
	return 0;
}
