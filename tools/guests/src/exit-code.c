/* exit-code: main returns 3; the exit status must reach the host through semihosting. */
#include <stdio.h>

int main(void)
{
	printf("exit-code: returning 3\n");
	return 3;
}
