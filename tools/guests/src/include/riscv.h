/*
 * riscv.h — CSR access and a few constants for Amber guest programs.
 *
 * The programs are compiled with plain -march=rv32imac / rv32ima / rv32im (a
 * "_zicsr" suffix would select the wrong multilib, see README), so every CSR
 * instruction is wrapped in ".option arch, +zicsr".
 */
#ifndef AMBER_RISCV_H
#define AMBER_RISCV_H

#include <stdint.h>

#define ASM_ZICSR(body) ".option push\n\t.option arch, +zicsr\n\t" body "\n\t.option pop"

#define CSR_READ(csr) ({ uint32_t v_; \
	__asm__ volatile (ASM_ZICSR("csrr %0, " #csr) : "=r"(v_) :: "memory"); v_; })
#define CSR_WRITE(csr, val) \
	__asm__ volatile (ASM_ZICSR("csrw " #csr ", %0") :: "r"((uint32_t)(val)) : "memory")
#define CSR_SET(csr, bits) \
	__asm__ volatile (ASM_ZICSR("csrs " #csr ", %0") :: "r"((uint32_t)(bits)) : "memory")
#define CSR_CLEAR(csr, bits) \
	__asm__ volatile (ASM_ZICSR("csrc " #csr ", %0") :: "r"((uint32_t)(bits)) : "memory")
#define CSR_SWAP(csr, val) ({ uint32_t v_; \
	__asm__ volatile (ASM_ZICSR("csrrw %0, " #csr ", %1") : "=r"(v_) : "r"((uint32_t)(val)) : "memory"); v_; })

/* mstatus fields */
#define MSTATUS_MIE   (1u << 3)
#define MSTATUS_MPIE  (1u << 7)
#define MSTATUS_MPP   (3u << 11)
#define MSTATUS_MPP_M (3u << 11)
#define MSTATUS_MPRV  (1u << 17)

/* mie / mip bits */
#define MIP_MSIP (1u << 3)
#define MIP_MTIP (1u << 7)
#define MIP_MEIP (1u << 11)

/* mcause values */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_INTERRUPT        0x80000000u

/* QEMU virt CLINT (ACLINT) registers */
#define CLINT_MSIP         ((volatile uint32_t *)0x02000000u)
#define CLINT_MTIMECMP_LO  ((volatile uint32_t *)0x02004000u)
#define CLINT_MTIMECMP_HI  ((volatile uint32_t *)0x02004004u)
#define CLINT_MTIME_LO     ((volatile uint32_t *)0x0200bff8u)
#define CLINT_MTIME_HI     ((volatile uint32_t *)0x0200bffcu)

#endif /* AMBER_RISCV_H */
