#!/usr/bin/env bash
# Build Amber's guest programs and record their golden outputs from QEMU.
#
#   bash tools/guests/build.sh                 # everything
#   bash tools/guests/build.sh hello traps     # only these programs (and nothing else)
#   bash tools/guests/build.sh all-insns       # only the disassembler fixture
#
# Needs (Debian 12): gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
#
# For each program and each -march in rv32imac rv32ima rv32im (some programs skip a
# march, see PROGRAMS below) it writes, in tools/guests/out/<march>/:
#   <name>.elf          the guest (RAM at 0x80000000, see link.ld)
#   <name>.stdout       what the guest printed through semihosting (the console:
#                       SYS_WRITEC / SYS_WRITE0, i.e. picolibc's stdout and stderr)
#   <name>.exit         QEMU's exit status, one number and a newline
#   <name>.host-stdout  only if non-empty: what QEMU wrote on its own stdout, i.e. the
#                       UART (with -nographic) and semihosting SYS_WRITE to ":tt"
#   <name>.objdump      riscv64-unknown-elf-objdump -d -M no-aliases
#   <name>.objdump-aliases  objdump -d (default aliases), for a few small programs
# and in tools/guests/out/:
#   all-insns.elf, all-insns.objdump, all-insns.objdump-aliases (disassembler fixture)
#
# QEMU runs as
#   qemu-system-riscv32 -M virt -cpu rv32,f=false,d=false,h=false -bios none -nographic \
#     -chardev file,id=semihost,path=<name>.stdout \
#     -semihosting-config enable=on,target=native,chardev=semihost -kernel <name>.elf
# (the chardev only separates the semihosting console from QEMU's own stderr; without
# it the same bytes appear on QEMU's stderr).  Any output on QEMU's stderr, a timeout,
# or a self-check failure (exit status different from the expected one) stops the build.
#
# The output is reproducible: running the script twice gives byte-identical files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

CC=riscv64-unknown-elf-gcc
AS=riscv64-unknown-elf-as
LD=riscv64-unknown-elf-ld
OBJCOPY=riscv64-unknown-elf-objcopy
OBJDUMP=riscv64-unknown-elf-objdump
QEMU=qemu-system-riscv32
# Amber's hart is RV32IMAC with S and U modes; QEMU's default rv32 CPU also has F, D and
# H, which show in misa (and in mstatus.FS). The oracle runs a CPU with Amber's extensions.
QEMU_CPU=rv32,f=false,d=false,h=false
TIMEOUT=${AMBER_GUEST_TIMEOUT:-60}

MARCHES=(rv32imac rv32ima rv32im)

# name | source | marches ("all" or a space-separated list) | expected exit | extra flags
PROGRAMS=(
	"hello           | hello.c           | all               | 0 |"
	"reset-state     | reset-state.c     | all               | 0 | -Wl,--entry=reset_entry"
	"exit-code       | exit-code.c       | all               | 3 |"
	"exit-sysexit    | exit-sysexit.c    | all               | 1 |"
	"exit-finisher   | exit-finisher.c   | all               | 7 |"
	"finisher-widths | finisher-widths.c | all               | 0 |"
	"rv32i-alu       | rv32i-alu.c       | all               | 0 |"
	"rv32i-branch    | rv32i-branch.c    | all               | 0 |"
	"rv32i-loadstore | rv32i-loadstore.c | all               | 0 |"
	"m-ext           | m-ext.c           | all               | 0 |"
	"atomics         | atomics.c         | rv32imac rv32ima  | 0 |"
	"compressed      | compressed.c      | rv32imac          | 0 |"
	"misaligned      | misaligned.c      | all               | 0 |"
	"traps           | traps.c           | all               | 0 |"
	"int-edge        | int-edge.c        | all               | 0 |"
	"strings         | strings.c         | all               | 0 |"
	"semihost-io     | semihost-io.c     | all               | 0 |"
	"uart            | uart.c            | all               | 0 |"
	"plic            | plic.c            | all               | 0 |"
	"uart-regs       | uart-regs.c       | all               | 0 |"
	"amo-faults      | amo-faults.c      | rv32imac rv32ima  | 0 |"
	"clint-regs      | clint-regs.c      | all               | 0 |"
	"mmio-widths     | mmio-widths.c     | all               | 0 |"
	"virtio-irq      | virtio-irq.c      | all               | 0 |"
	"bench-short     | bench.c           | all               | 0 | -DBENCH_ROUNDS=4"
	"bench           | bench.c           | all               | 0 | -DBENCH_ROUNDS=480"
	"bench-paged     | bench-paged.c     | all               | 0 | -DBENCH_ROUNDS=8"
	"disk            | disk.c            | all               | 0 |"
	"disk-console    | disk-console.c    | rv32imac          | 0 |"
	"args            | args.c            | rv32imac          | 0 | --crt0=semihost"
	"touch           | touch.c           | rv32imac          | 0 | --crt0=semihost -Wl,--defsym=__stack=0x81000000"
	"priv-delegation | priv-delegation.c | all               | 0 |"
	"priv-paging     | priv-paging.c     | all               | 0 |"
	"priv-interrupts | priv-interrupts.c | all               | 0 |"
	"priv-pmp        | priv-pmp.c        | all               | 0 |"
	"priv-counters   | priv-counters.c   | all               | 0 |"
	"priv-mprv-trap  | priv-mprv-trap.c  | all               | 0 |"
	"triggers        | triggers.c        | all               | 0 |"
)

# Extra QEMU arguments per program (devices it needs). disk drives virtio-blk in slot 0
# (bus virtio-mmio-bus.0 = 0x10001000, PLIC source 1; QEMU 7.2 defaults to the legacy
# virtio-mmio interface, hence force-legacy=false) backed by out/disk.img; snapshot=on
# keeps the guest's writes out of the committed image.
declare -A QEMU_EXTRA=(
	[disk]="-global virtio-mmio.force-legacy=false -drive file=out/disk.img,if=none,format=raw,id=d0,snapshot=on -device virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0"
	[disk-console]="-global virtio-mmio.force-legacy=false -drive file=out/disk.img,if=none,format=raw,id=d0,snapshot=on -device virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0"
	[virtio-irq]="-global virtio-mmio.force-legacy=false -drive file=out/disk.img,if=none,format=raw,id=d0,snapshot=on -device virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0"
)

# The command line a program gets through SYS_GET_CMDLINE (QEMU's -semihosting-config arg=, argv[0] first).
declare -A QEMU_SEMIHOST_ARGS=(
	[args]=",arg=args,arg=hello,arg=world"
	[touch]=",arg=touch,arg=2"
)

# What a program reads on its console (the UART, QEMU's stdin with -nographic); others read nothing.
declare -A QEMU_STDIN=(
	[disk-console]=src/disk-console.stdin
)

# out/disk.img: 64 KiB, 128 sectors; sector n starts with "Amber disk sector NNN" and is
# filled with (n * 13 + offset) & 0xff after that. Deterministic, so rebuilding changes nothing.
make_disk_image() {
	mkdir -p out
	python3 - out/disk.img <<'PY'
import sys
out = bytearray()
for n in range(128):
    sector = bytearray((n * 13 + i) & 0xFF for i in range(512))
    label = b"Amber disk sector %03d\n" % n
    sector[: len(label)] = label
    out += sector
open(sys.argv[1], "wb").write(out)
PY
}

# Programs that also get an objdump with the default aliases.
ALIASES=(hello exit-code)

CFLAGS=(
	-mabi=ilp32
	--specs=picolibc.specs --oslib=semihost --crt0=hosted
	-O2 -g0 -std=gnu11 -Wall -Wextra -Wno-unused-parameter
	-ffunction-sections -fdata-sections
	-ffile-prefix-map="$here"=.
	-T link.ld
	-Wl,--gc-sections -Wl,--strip-debug -Wl,--build-id=none
)

die() { echo "build.sh: $*" >&2; exit 1; }

for tool in "$CC" "$AS" "$LD" "$OBJCOPY" "$OBJDUMP" "$QEMU" timeout python3; do
	command -v "$tool" >/dev/null || die "missing $tool (apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc)"
done

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "$s"; }

# Which programs to build: all, or the ones named on the command line.
declare -A wanted=()
want_all_insns=1
if (($# > 0)); then
	want_all_insns=0
	for arg in "$@"; do
		arg=${arg%.c}
		arg=${arg%.S}
		if [[ $arg == all-insns ]]; then
			want_all_insns=1
			continue
		fi
		found=0
		for spec in "${PROGRAMS[@]}"; do
			[[ $(trim "${spec%%|*}") == "$arg" ]] && found=1
		done
		((found)) || die "unknown program '$arg'"
		wanted[$arg]=1
	done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0

run_guest() {
	local dir=$1 name=$2 expect=$3
	local elf=$dir/$name.elf status
	rm -f "$dir/$name.stdout" "$dir/$name.host-stdout"
	set +e
	# shellcheck disable=SC2086
	timeout "$TIMEOUT" "$QEMU" -M virt -cpu "$QEMU_CPU" -bios none -nographic ${QEMU_EXTRA[$name]:-} \
		-chardev "file,id=semihost,path=$dir/$name.stdout" \
		-semihosting-config "enable=on,target=native,chardev=semihost${QEMU_SEMIHOST_ARGS[$name]:-}" \
		-kernel "$elf" <"${QEMU_STDIN[$name]:-/dev/null}" >"$tmp/host-stdout" 2>"$tmp/host-stderr"
	status=$?
	set -e
	if ((status == 124)); then
		die "$elf: timed out after ${TIMEOUT}s"
	fi
	if [[ -s $tmp/host-stderr ]]; then
		cat "$tmp/host-stderr" >&2
		die "$elf: QEMU wrote to its stderr (see above)"
	fi
	[[ -f $dir/$name.stdout ]] || die "$elf: no semihosting output file"
	if [[ -s $tmp/host-stdout ]]; then
		cp "$tmp/host-stdout" "$dir/$name.host-stdout"
	fi
	echo "$status" >"$dir/$name.exit"
	if [[ $status != "$expect" ]]; then
		echo "build.sh: $elf: exit status $status, expected $expect; output:" >&2
		cat "$dir/$name.stdout" >&2
		failures=$((failures + 1))
	fi
}

disassemble() {
	local dir=$1 name=$2 alias
	# Run from the directory so that the header names the file without a path.
	(cd "$dir" && "$OBJDUMP" -d -M no-aliases "$name.elf" >"$name.objdump")
	rm -f "$dir/$name.objdump-aliases"
	for alias in "${ALIASES[@]}"; do
		if [[ $alias == "$name" ]]; then
			(cd "$dir" && "$OBJDUMP" -d "$name.elf" >"$name.objdump-aliases")
		fi
	done
}

for spec in "${PROGRAMS[@]}"; do
	IFS='|' read -r name src marches expect flags <<<"$spec"
	name=$(trim "$name")
	src=$(trim "$src")
	marches=$(trim "$marches")
	expect=$(trim "$expect")
	flags=$(trim "$flags")
	if ((${#wanted[@]} > 0)) && [[ -z ${wanted[$name]:-} ]]; then
		continue
	fi
	[[ $marches == all ]] && marches="${MARCHES[*]}"
	[[ $name == disk || $name == disk-console || $name == virtio-irq ]] && make_disk_image
	for march in $marches; do
		dir=out/$march
		mkdir -p "$dir"
		echo "== $march/$name"
		# A program's own --crt0= replaces the default one (picolibc takes only one).
		cflags=()
		for f in "${CFLAGS[@]}"; do
			[[ $f == --crt0=* && $flags == *--crt0=* ]] || cflags+=("$f")
		done
		# shellcheck disable=SC2086
		"$CC" -march="$march" "${cflags[@]}" $flags -o "$dir/$name.elf" "src/$src"
		run_guest "$dir" "$name" "$expect"
		disassemble "$dir" "$name"
	done
done

if ((want_all_insns)); then
	echo "== all-insns"
	mkdir -p out
	"$AS" -march=rv32imac_zicsr_zifencei_zihintpause -mabi=ilp32 -o "$tmp/all-insns.o" src/all-insns.S
	# -x drops the local mapping symbols ($x/$d), so objdump decodes the raw .word
	# encodings as instructions too; __global_pointer$ (from ld's default script)
	# is removed so that it does not show up in objdump's address comments.
	"$LD" -m elf32lriscv --no-relax -x --build-id=none -Ttext=0x80000000 -e _start \
		-o "$tmp/all-insns.elf" "$tmp/all-insns.o"
	"$OBJCOPY" --strip-symbol='__global_pointer$' "$tmp/all-insns.elf" out/all-insns.elf
	(cd out && "$OBJDUMP" -d -M no-aliases all-insns.elf >all-insns.objdump)
	(cd out && "$OBJDUMP" -d all-insns.elf >all-insns.objdump-aliases)
fi

if ((failures > 0)); then
	die "$failures guest(s) did not exit with the expected status"
fi
echo "build.sh: done"
