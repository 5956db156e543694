/*
 * elf2flt: convert a static RV32 ELF linked at address 0 with --emit-relocs into a
 * FLAT (bFLT v4) executable for Linux without an MMU.  Debian has no elf2flt, and a
 * nommu riscv kernel runs nothing else, so this is the project's own small one.
 *
 *   elf2flt [-s STACK_SIZE] IN.elf OUT
 *
 * What Linux 6.1's fs/binfmt_flat.c expects, and what this writes:
 *  - a 64-byte header, big-endian: "bFLT", rev 4, entry, data_start, data_end,
 *    bss_end, stack_size, reloc_start, reloc_count, flags (FLAT_FLAG_RAM: text and
 *    data are copied into one RAM block), build_date (0), filler;
 *  - then the program's bytes: program address A is at file offset 64 + A, and the
 *    loader puts it at textpos + 64 + A (text and data stay contiguous when the data
 *    start is 32-byte aligned), so PC-relative code (-mcmodel=medany, no gp
 *    relaxation) runs unchanged;
 *  - then reloc_count big-endian words, each the program address of a 32-bit
 *    absolute pointer (an R_RISCV_32 relocation) in text or data.  The pointer
 *    itself is stored big-endian in the file; the loader swaps it, adds the load
 *    address and writes it back in native order.  A pointer whose value is 0 is
 *    never relocated, so nothing may point at program address 0.
 * Absolute relocations in instructions (R_RISCV_HI20/LO12) cannot be expressed in
 * FLAT: the converter refuses them (compile with -mcmodel=medany -mno-relax).
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_FLAG_RAM 0x0001

static void die(const char *msg, ...) __attribute__((noreturn, format(printf, 1, 2)));
#include <stdarg.h>
static void die(const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	fputs("elf2flt: ", stderr);
	vfprintf(stderr, msg, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint32_t be32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint32_t stack_size = 8192;
	int argi = 1;

	if (argc == 5 && !strcmp(argv[1], "-s")) {
		stack_size = strtoul(argv[2], NULL, 0);
		argi = 3;
	}
	if (argc - argi != 2)
		die("usage: elf2flt [-s STACK_SIZE] IN.elf OUT");

	FILE *f = fopen(argv[argi], "rb");
	if (!f)
		die("%s: %s", argv[argi], strerror(errno));
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *elf = malloc(size);
	if (!elf || fread(elf, 1, size, f) != (size_t)size)
		die("%s: cannot read", argv[argi]);
	fclose(f);

	Elf32_Ehdr *eh = (Elf32_Ehdr *)elf;
	if (size < (long)sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_RISCV || eh->e_type != ET_EXEC)
		die("%s: not a little-endian RV32 ELF executable", argv[argi]);
	if ((long)(eh->e_phoff + eh->e_phnum * sizeof(Elf32_Phdr)) > size ||
	    (long)(eh->e_shoff + eh->e_shnum * sizeof(Elf32_Shdr)) > size)
		die("%s: truncated", argv[argi]);
	Elf32_Phdr *ph = (Elf32_Phdr *)(elf + eh->e_phoff);
	Elf32_Shdr *sh = (Elf32_Shdr *)(elf + eh->e_shoff);

	/* The program image: every PT_LOAD, from address 0. */
	uint32_t file_end = 0, mem_end = 0, data_addr = UINT32_MAX;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr != ph[i].p_paddr)
			die("segment %d: p_vaddr != p_paddr", i);
		if (ph[i].p_offset + ph[i].p_filesz > (uint32_t)size)
			die("segment %d: outside the file", i);
		if (ph[i].p_filesz && ph[i].p_vaddr + ph[i].p_filesz > file_end)
			file_end = ph[i].p_vaddr + ph[i].p_filesz;
		if (ph[i].p_vaddr + ph[i].p_memsz > mem_end)
			mem_end = ph[i].p_vaddr + ph[i].p_memsz;
		if ((ph[i].p_flags & PF_W) && ph[i].p_vaddr < data_addr)
			data_addr = ph[i].p_vaddr;
	}
	if (!mem_end)
		die("no PT_LOAD segment");
	if (data_addr == UINT32_MAX)			/* no writable segment */
		data_addr = (file_end + 31) & ~31u;
	if (file_end < data_addr)			/* data without file bytes: pad text */
		file_end = data_addr;
	if (mem_end < file_end)
		mem_end = file_end;
	if (data_addr % 32)
		die("data starts at 0x%x, not 32-byte aligned", data_addr);
	if (eh->e_entry == 0 || eh->e_entry >= data_addr)
		die("entry 0x%x is not in text", eh->e_entry);

	unsigned char *img = calloc(1, file_end + 4);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			memcpy(img + ph[i].p_vaddr, elf + ph[i].p_offset, ph[i].p_filesz);

	/* Absolute 32-bit pointers in allocated sections become FLAT relocations. */
	uint32_t *relocs = NULL;
	size_t nrelocs = 0, cap = 0;
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_REL)
			die("section %d: REL relocations are not expected", i);
		if (sh[i].sh_type != SHT_RELA || sh[i].sh_info >= eh->e_shnum ||
		    !(sh[sh[i].sh_info].sh_flags & SHF_ALLOC))
			continue;
		Elf32_Rela *r = (Elf32_Rela *)(elf + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(*r);
		for (size_t k = 0; k < n; k++) {
			uint32_t type = ELF32_R_TYPE(r[k].r_info), at = r[k].r_offset;

			switch (type) {
			case R_RISCV_32:
				break;
			case R_RISCV_NONE: case R_RISCV_BRANCH: case R_RISCV_JAL:
			case R_RISCV_CALL: case R_RISCV_CALL_PLT: case R_RISCV_PCREL_HI20:
			case R_RISCV_PCREL_LO12_I: case R_RISCV_PCREL_LO12_S:
			case R_RISCV_ADD8: case R_RISCV_ADD16: case R_RISCV_ADD32:
			case R_RISCV_SUB8: case R_RISCV_SUB16: case R_RISCV_SUB32:
			case R_RISCV_ALIGN: case R_RISCV_RVC_BRANCH: case R_RISCV_RVC_JUMP:
			case R_RISCV_RELAX: case R_RISCV_SUB6: case R_RISCV_SET6:
			case R_RISCV_SET8: case R_RISCV_SET16: case R_RISCV_SET32:
			case R_RISCV_32_PCREL:
				continue;	/* position independent */
			default:
				die("relocation type %u at 0x%x cannot be expressed in FLAT "
				    "(compile with -mcmodel=medany -mno-relax)", type, at);
			}
			if (at % 4 || at + 4 > file_end)
				die("R_RISCV_32 at 0x%x: misaligned or not in the file image", at);
			uint32_t v;
			memcpy(&v, img + at, 4);	/* host and target are little-endian */
			if (v == 0 || v >= mem_end)
				die("R_RISCV_32 at 0x%x: value 0x%x is 0 or outside the program", at, v);
			v = be32(v);
			memcpy(img + at, &v, 4);
			if (nrelocs == cap) {
				cap = cap ? 2 * cap : 64;
				relocs = realloc(relocs, cap * sizeof(*relocs));
			}
			relocs[nrelocs++] = at;
		}
	}
	qsort(relocs, nrelocs, sizeof(*relocs), cmp_u32);

	unsigned char hdr[64] = { 'b', 'F', 'L', 'T' };
	put_be32(hdr + 4, 4);				/* rev */
	put_be32(hdr + 8, 64 + eh->e_entry);		/* entry */
	put_be32(hdr + 12, 64 + data_addr);		/* data_start */
	put_be32(hdr + 16, 64 + file_end);		/* data_end */
	put_be32(hdr + 20, 64 + mem_end);		/* bss_end */
	put_be32(hdr + 24, stack_size);
	put_be32(hdr + 28, 64 + file_end);		/* reloc_start */
	put_be32(hdr + 32, nrelocs);
	put_be32(hdr + 36, FLAT_FLAG_RAM);		/* flags */
	/* build_date (40) and filler stay 0 */

	FILE *o = fopen(argv[argi + 1], "wb");
	if (!o)
		die("%s: %s", argv[argi + 1], strerror(errno));
	fwrite(hdr, 1, sizeof(hdr), o);
	fwrite(img, 1, file_end, o);
	for (size_t k = 0; k < nrelocs; k++) {
		unsigned char w[4];

		put_be32(w, relocs[k]);
		fwrite(w, 1, 4, o);
	}
	if (fclose(o))
		die("%s: write error", argv[argi + 1]);
	fprintf(stderr, "elf2flt: %s: text 0x%x, data 0x%x, bss 0x%x, %zu relocations, stack %u\n",
		argv[argi + 1], data_addr, file_end - data_addr, mem_end - file_end, nrelocs, stack_size);
	return 0;
}
