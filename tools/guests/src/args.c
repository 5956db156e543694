/*
 * args: prints its command line as picolibc's hosted crt0 hands it to main (argc, argv),
 * which it gets from the host through semihosting SYS_GET_CMDLINE. build.sh runs it with
 * `-semihosting-config ...,arg=args,arg=hello,arg=world`; Amber gives the arguments of
 * `amber run args.elf ARGS...` and of a bundle (`node app.mjs ARGS...`) the same way.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("argc %d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d] \"%s\"\n", i, argv[i]);
	return 0;
}
