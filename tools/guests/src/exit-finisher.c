/*
 * exit-finisher: leaves through the board's SiFive test device ("finisher") at
 * 0x00100000 instead of semihosting: writing (code << 16) | 0x3333 makes QEMU exit
 * with status `code` (7 here); 0x5555 exits with 0, 0x7777 resets the machine.
 */
#include <stdint.h>
#include <stdio.h>

#define FINISHER ((volatile uint32_t *)0x00100000u)
#define FINISHER_FAIL 0x3333u

int main(void)
{
	printf("exit-finisher: writing (7 << 16) | 0x3333 to 0x00100000\n");
	*FINISHER = (7u << 16) | FINISHER_FAIL;
	printf("exit-finisher: still running (the finisher did not stop the machine)\n");
	return 99;
}
