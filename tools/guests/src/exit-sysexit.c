/*
 * exit-sysexit: the plain SYS_EXIT (0x18) semihosting call.  On RV32 its argument is
 * the reason code itself (not a pointer), and it carries no exit status: QEMU exits
 * with 0 for ADP_Stopped_ApplicationExit (0x20026) and with 1 for any other reason.
 * This program passes ADP_Stopped_RunTimeErrorUnknown (0x20023), so the exit status
 * is 1.  (picolibc's exit() uses SYS_EXIT_EXTENDED instead when the host offers it.)
 */
#include <stdio.h>

#include "include/semihost.h"

#define SYS_EXIT 0x18
#define ADP_Stopped_RunTimeErrorUnknown 0x20023

int main(void)
{
	printf("exit-sysexit: SYS_EXIT with reason 0x20023 (RunTimeErrorUnknown)\n");
	semihost(SYS_EXIT, (const void *)ADP_Stopped_RunTimeErrorUnknown);
	printf("exit-sysexit: still running\n");
	return 99;
}
