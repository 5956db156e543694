#!/usr/bin/env bash
# Count the instructions bench and bench-short retire, with QEMU's deterministic
# instruction counter:
#
#   bash tools/guests/count-insns.sh            # both, all three marches
#   bash tools/guests/count-insns.sh rv32imac   # one march
#
# It rebuilds bench.c with -DBENCH_REPORT_INSTRET (into a temporary directory, never
# into out/), which makes main print minstret just before it returns, and runs it under
#   qemu-system-riscv32 ... -icount shift=0,sleep=off
# where minstret counts retired instructions exactly (without -icount QEMU's counters
# follow the host clock).  The count covers crt0 and main, not the exit path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

marches=("$@")
((${#marches[@]} > 0)) || marches=(rv32imac rv32ima rv32im)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for march in "${marches[@]}"; do
	for variant in "bench-short 4" "bench 480"; do
		read -r name rounds <<<"$variant"
		riscv64-unknown-elf-gcc -march="$march" -mabi=ilp32 \
			--specs=picolibc.specs --oslib=semihost --crt0=hosted -O2 -g0 -std=gnu11 \
			-ffunction-sections -fdata-sections -T link.ld \
			-Wl,--gc-sections -Wl,--strip-debug -Wl,--build-id=none \
			-DBENCH_ROUNDS="$rounds" -DBENCH_REPORT_INSTRET \
			-o "$tmp/$name.elf" src/bench.c
		start=$(date +%s.%N)
		count=$(qemu-system-riscv32 -M virt -cpu rv32,f=false,d=false,h=false -bios none -nographic -icount shift=0,sleep=off \
			-semihosting-config enable=on,target=native -kernel "$tmp/$name.elf" \
			</dev/null 2>&1 >/dev/null | sed -n 's/^minstret at end of main: //p')
		end=$(date +%s.%N)
		printf '%-9s %-12s %14s instructions  (%.2f s with -icount)\n' "$march" "$name" "$count" \
			"$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
	done
done
