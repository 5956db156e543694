#!/usr/bin/env bash
# Build Amber Lisp (out/lisp.elf) and record the golden transcripts of its tests from QEMU.
#
#   bash tools/guests/lisp/build.sh            # the ELF and every tests/*.lisp
#   bash tools/guests/lisp/build.sh gc errors  # the ELF and only these tests
#
# Needs (Debian 12): gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
#
# Writes, next to this script:
#   out/lisp.elf          the guest: rv32imac, linked with ../link.ld like the other guests
#   out/lisp.objdump      objdump -d of it (to find a pc)
#   tests/NAME.expected   every byte QEMU's UART sent while tests/NAME.lisp was typed in
#   tests/NAME.exit       QEMU's exit status (the code of the script's (exit N)) and a newline
#
# The script is the UART's input and the UART's output is the transcript: QEMU runs
#   qemu-system-riscv32 -M virt -cpu rv32,f=false,d=false,h=false -bios none -nographic \
#     -kernel out/lisp.elf < tests/NAME.lisp > tests/NAME.expected
# The guest does not echo what it reads, so the transcript holds only what Lisp printed.
# Its prompts depend only on the input bytes, never on when they arrive, so a transcript
# does not depend on QEMU's timing. Any output on QEMU's stderr or a timeout stops the
# build; every script must end by powering off with (exit N).
#
# The output is reproducible: running the script twice gives byte-identical files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

CC=riscv64-unknown-elf-gcc
OBJDUMP=riscv64-unknown-elf-objdump
QEMU=qemu-system-riscv32
QEMU_CPU=rv32,f=false,d=false,h=false
TIMEOUT=${AMBER_GUEST_TIMEOUT:-120}

CFLAGS=(
	-march=rv32imac -mabi=ilp32
	--specs=picolibc.specs --oslib=semihost --crt0=hosted
	-O2 -g0 -std=gnu11 -Wall -Wextra -Wno-unused-parameter
	-ffunction-sections -fdata-sections
	-ffile-prefix-map="$here"=.
	-T ../link.ld
	# The stack (1 MiB) just above the heap instead of at the top of 128 MiB: everything
	# Lisp uses lies in the first 5 MiB of RAM, so it runs on any board with 8 MiB or more
	# (the device tree goes 2 MiB below the top of RAM).
	-Wl,--defsym=__stack=0x80500000
	-Wl,--gc-sections -Wl,--strip-debug -Wl,--build-id=none
)
SOURCES=(main.c uart.c heap.c read.c print.c eval.c builtins.c)

die() { echo "lisp/build.sh: $*" >&2; exit 1; }

for tool in "$CC" "$OBJDUMP" "$QEMU" timeout; do
	command -v "$tool" >/dev/null || die "missing $tool (apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc)"
done

mkdir -p out
echo "== lisp.elf"
"$CC" "${CFLAGS[@]}" -o out/lisp.elf "${SOURCES[@]}"
(cd out && "$OBJDUMP" -d -M no-aliases lisp.elf >lisp.objdump)

tests=()
if (($# > 0)); then
	for name in "$@"; do
		name=${name%.lisp}
		[[ -f tests/$name.lisp ]] || die "no tests/$name.lisp"
		tests+=("$name")
	done
else
	for f in tests/*.lisp; do
		name=${f#tests/}
		tests+=("${name%.lisp}")
	done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for name in "${tests[@]}"; do
	echo "== tests/$name.lisp"
	set +e
	timeout "$TIMEOUT" "$QEMU" -M virt -cpu "$QEMU_CPU" -bios none -nographic \
		-kernel out/lisp.elf <"tests/$name.lisp" >"$tmp/out" 2>"$tmp/err"
	status=$?
	set -e
	((status != 124)) || die "tests/$name.lisp: timed out after ${TIMEOUT}s (does it end with (exit N)?)"
	if [[ -s $tmp/err ]]; then
		cat "$tmp/err" >&2
		die "tests/$name.lisp: QEMU wrote to its stderr (see above)"
	fi
	cp "$tmp/out" "tests/$name.expected"
	echo "$status" >"tests/$name.exit"
done
echo "lisp/build.sh: done"
