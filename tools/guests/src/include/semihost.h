/*
 * semihost.h — the RISC-V semihosting call, without picolibc's wrappers.
 *
 * The trap is the 12-byte sequence "slli x0, x0, 0x1f; ebreak; srai x0, x0, 7":
 * uncompressed, and never crossing a page (here: the first 12 bytes of a 16-byte
 * aligned section of its own).  a0 = operation, a1 = argument (usually a pointer to
 * a block of words); the result comes back in a0.
 *
 * Defines a function: include in one file only.
 */
#ifndef AMBER_SEMIHOST_H
#define AMBER_SEMIHOST_H

long semihost(long op, const void *arg);

__asm__(
	".pushsection .text.amber_semihost, \"ax\", @progbits\n"
	".option push\n"
	".option norvc\n"
	".balign 16\n"
	".globl semihost\n"
	".type semihost, @function\n"
	"semihost:\n"
	"	slli x0, x0, 0x1f\n"
	"	ebreak\n"
	"	srai x0, x0, 7\n"
	"	ret\n"
	".size semihost, . - semihost\n"
	".option pop\n"
	".popsection\n");

#endif /* AMBER_SEMIHOST_H */
