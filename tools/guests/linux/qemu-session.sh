#!/usr/bin/env bash
# Boot an Amber Linux image on QEMU, type commands at the shell's prompts, print the
# console (carriage returns removed) on stdout, and the wall time from QEMU's start to
# the first prompt on stderr.
#
#   tools/guests/linux/qemu-session.sh [mmu|nommu] [COMMAND...]
#
# Each COMMAND is typed only once the prompt "amber# " has appeared; when none are
# given, `poweroff` is.  The session ends when QEMU exits (so end with poweroff) or
# after $TIMEOUT seconds without console output (default 60; exit status 124).
# Environment:
#   QEMU_CPU    -cpu value (default: the plain RV32IMA(C) hart Amber implements:
#               rv32,f=false,d=false,h=false,sstc=false)
#   QEMU_EXTRA  more QEMU arguments, e.g. "-icount shift=0,sleep=off"
#   AMBER_LINUX_OUT  where the images are (default: out/ next to this script)
# qemu-boot.log was recorded with:
#   ./qemu-session.sh mmu 'echo hello from amber' 'ls /proc' 'cat /proc/cpuinfo' \
#       'count 5' 'frobnicate' 'help' poweroff > qemu-boot.log
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${AMBER_LINUX_OUT:-$HERE/out}
TIMEOUT=${TIMEOUT:-60}
CPU=${QEMU_CPU:-rv32,f=false,d=false,h=false,sstc=false}

variant=mmu
if [ $# -gt 0 ] && { [ "$1" = mmu ] || [ "$1" = nommu ]; }; then
	variant=$1
	shift
fi
cmds=("$@")
[ ${#cmds[@]} -gt 0 ] || cmds=(poweroff)

case $variant in
mmu) boot=(-bios "$OUT/firmware.elf" -kernel "$OUT/Image-mmu") ;;
nommu) boot=(-bios none -kernel "$OUT/Image-nommu") ;;
esac
# shellcheck disable=SC2206 # QEMU_EXTRA is split on purpose
extra=(${QEMU_EXTRA:-})

start=$(date +%s%N)
coproc QEMU { exec qemu-system-riscv32 -M virt -m 128M -nographic -cpu "$CPU" \
	"${boot[@]}" "${extra[@]}" 2>&1; }
qpid=$QEMU_PID
exec {qin}>&"${QEMU[1]}" {qout}<&"${QEMU[0]}"

tail="" next=0 first="" status=0
while :; do
	rc=0
	IFS= read -r -d '' -n 1 -t "$TIMEOUT" c <&"$qout" || rc=$?
	if [ $rc -ne 0 ]; then
		[ -z "$c" ] || printf '%s' "$c"
		if [ $rc -gt 128 ]; then
			echo "qemu-session: no console output for ${TIMEOUT}s; stopping QEMU" >&2
			kill "$qpid" 2>/dev/null || true
			status=124
		fi
		break
	fi
	[ "$c" = $'\r' ] && continue
	[ -n "$c" ] || c=$'\n'		# read -d '' -n 1 returns a newline as ""
	printf '%s' "$c"
	tail+=$c
	[ ${#tail} -le 7 ] || tail=${tail:1}
	if [[ $tail == *"amber# " ]]; then
		if [ -z "$first" ]; then
			first=$(date +%s%N)
			printf 'qemu-session: first prompt after %s s\n' \
				"$(awk -v a="$start" -v b="$first" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" >&2
		fi
		if [ $next -lt ${#cmds[@]} ]; then
			printf '%s\n' "${cmds[$next]}" >&"$qin"
			next=$((next + 1))
		fi
		tail=""
	fi
done
exec {qin}>&-
qrc=0
wait "$qpid" 2>/dev/null || qrc=$?
[ $status -ne 0 ] || status=$qrc
exit $status
