#!/usr/bin/env bash
# Build Amber's 32-bit RISC-V Linux guests from Debian packages, reproducibly.
#
#   tools/guests/linux/build.sh [mmu] [nommu]     (default: both)
#
# Produces in tools/guests/linux/out/ (or $AMBER_LINUX_OUT):
#   firmware.elf, firmware.bin   the project's M-mode SBI firmware (for the MMU kernel)
#   Image-mmu                    Linux in S-mode with Sv32; /init is an ELF
#   Image-nommu                  Linux in M-mode without MMU; /init is a FLAT binary
#   System.map-*                 kernel symbols (the kernels have no kallsyms)
#   SHA256SUMS
# The kernel source is unpacked and built under $AMBER_LINUX_WORK (default
# /tmp/amber-linux), outside the repository; an unpacked tree is reused when the
# tarball and the patches have not changed.  Installs nothing: it names the Debian
# packages that are missing and stops.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${AMBER_LINUX_WORK:-/tmp/amber-linux}
OUT=${AMBER_LINUX_OUT:-$HERE/out}
JOBS=${JOBS:-$(nproc)}
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
# Patches to the kernel source, applied in this order (see README.md).
PATCHES=("$HERE/config/rv32-nommu-kconfig.patch" "$HERE/config/page-reporting-order.patch")

VARIANTS=()
for arg in "$@"; do
	case $arg in
	mmu | nommu) VARIANTS+=("$arg") ;;
	-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument '$arg' (expected mmu and/or nommu)" >&2; exit 2 ;;
	esac
done
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(mmu nommu)

# ---- reproducibility: fixed identity and time for every tool that stamps output ----
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=1767225600			# 2026-01-01 00:00:00 UTC
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"
export KBUILD_BUILD_USER=amber KBUILD_BUILD_HOST=amber KBUILD_BUILD_VERSION=1
export ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
unset KBUILD_OUTPUT LOCALVERSION || true

# ---- required Debian packages (checked, never installed) ----
missing=()
need() {	# need PACKAGE COMMAND-OR-FILE
	if [[ $2 == /* ]]; then [ -e "$2" ] || missing+=("$1")
	else command -v "$2" >/dev/null 2>&1 || missing+=("$1"); fi
}
need linux-source-6.1 "$TARBALL"
need gcc-riscv64-linux-gnu riscv64-linux-gnu-gcc	# kernel and /init (rv32 via -march/-mabi)
need gcc-riscv64-unknown-elf riscv64-unknown-elf-gcc	# the M-mode firmware
need gcc gcc						# host programs of the kernel build
need libc6-dev /usr/include/stdio.h
need make make
need bc bc
need bison bison
need flex flex
need xz-utils xz
need perl perl
if [ ${#missing[@]} -gt 0 ]; then
	echo "build.sh: missing Debian packages; install them with:" >&2
	echo "  apt-get install ${missing[*]}" >&2
	exit 1
fi

log() { printf '\n==> %s\n' "$*"; }
mkdir -p "$WORK" "$OUT"

# ---- 1. unpack linux-source and apply the project's patches ----
SRC=$WORK/src
stamp="$(sha256sum "$TARBALL" | cut -c1-16)"
for p in "${PATCHES[@]}"; do stamp+=" $(sha256sum "$p" | cut -c1-16)"; done
if [ "$(cat "$WORK/src.stamp" 2>/dev/null)" != "$stamp" ]; then
	log "unpacking $TARBALL into $SRC"
	rm -rf "$SRC" "$WORK/src.stamp" "$WORK"/build-*
	mkdir -p "$SRC"
	tar -xf "$TARBALL" -C "$SRC" --strip-components=1
	for p in "${PATCHES[@]}"; do patch -d "$SRC" -p1 --no-backup-if-mismatch < "$p"; done
	echo "$stamp" > "$WORK/src.stamp"
fi
KVER=$(make -s -C "$SRC" kernelversion)
log "Linux $KVER in $SRC"

# ---- 2. UAPI headers for /init ----
log "UAPI headers"
make -s -C "$SRC" O="$WORK/build-headers" headers
UAPI=$WORK/build-headers/usr/include

# ---- 3. /init: the project's shell, freestanding rv32 C ----
log "init"
mkdir -p "$WORK/init"
CFLAGS=(-march=rv32ima -mabi=ilp32 -Os -ffreestanding -fno-stack-protector -fno-pie
	-fno-asynchronous-unwind-tables -fno-ident -Wall -Wextra -Werror
	-I "$SRC/tools/include/nolibc" -isystem "$UAPI")
# ELF for the MMU kernel (the firmware lets U-mode read the time CSR, as OpenSBI does).
riscv64-linux-gnu-gcc "${CFLAGS[@]}" -DUSER_RDTIME -static -nostdlib -no-pie -s -Wl,--build-id=none \
	-o "$WORK/init/init-mmu" "$HERE/init/init.c"
# FLAT for the nommu kernel: linked at 0 keeping its relocations, then converted.
if [[ " ${VARIANTS[*]} " == *" nommu "* ]]; then
	gcc -O2 -Wall -Wextra -Werror -o "$WORK/init/elf2flt" "$HERE/init/elf2flt.c"
	riscv64-linux-gnu-gcc "${CFLAGS[@]}" -DUSER_MTIME_MMIO -mcmodel=medany -mno-relax -static -nostdlib -no-pie \
		-Wl,--build-id=none -Wl,--emit-relocs -Wl,--no-relax -T "$HERE/init/flat.ld" \
		-o "$WORK/init/init-nommu.elf" "$HERE/init/init.c"
	"$WORK/init/elf2flt" -s 16384 "$WORK/init/init-nommu.elf" "$WORK/init/init-nommu"
fi
# gen_init_cpio stores a regular file's own mtime in the initramfs.
touch -d "@$SOURCE_DATE_EPOCH" "$WORK"/init/init-*

# ---- 4. the M-mode SBI firmware ----
log "firmware"
# Assembled and linked in two steps: a one-step build names its temporary object in
# the ELF's symbol table, which would make every build differ.
riscv64-unknown-elf-gcc -march=rv32ima_zicsr_zifencei -mabi=ilp32 -c \
	-o "$WORK/firmware.o" "$HERE/firmware/firmware.S"
riscv64-unknown-elf-ld -m elf32lriscv --build-id=none --no-warn-rwx-segments \
	-T "$HERE/firmware/firmware.ld" -o "$OUT/firmware.elf" "$WORK/firmware.o"
riscv64-unknown-elf-objcopy -O binary "$OUT/firmware.elf" "$OUT/firmware.bin"

# ---- 5. the kernels ----
for v in "${VARIANTS[@]}"; do
	B=$WORK/build-$v
	log "kernel $v in $B"
	mkdir -p "$B"
	cat > "$WORK/initramfs-$v.list" <<-EOF
		dir /dev 0755 0 0
		nod /dev/console 0600 0 0 c 5 1
		dir /proc 0755 0 0
		file /init $WORK/init/init-$v 0755 0 0
	EOF
	# The initramfs list is the only fragment generated here (it names a work-dir path).
	echo "CONFIG_INITRAMFS_SOURCE=\"$WORK/initramfs-$v.list\"" > "$WORK/initramfs-$v.config"
	make -s -C "$SRC" O="$B" nommu_virt_defconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" \
		"$HERE/config/common.config" "$HERE/config/$v.config" "$WORK/initramfs-$v.config" >/dev/null
	make -s -C "$SRC" O="$B" olddefconfig
	# Kconfig silently drops what it cannot satisfy: insist on every line of the fragments.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=* | "# CONFIG_"*" is not set") grep -qxF "$line" "$B/.config" || { echo "not in .config: $line" >&2; bad=1; } ;;
		esac
	done < <(cat "$HERE/config/common.config" "$HERE/config/$v.config")
	[ $bad = 0 ] || { echo "build.sh: the $v configuration did not take" >&2; exit 1; }
	# /init's mtime is pinned, so make cannot see that it changed: always regenerate.
	rm -f "$B/usr/initramfs_data.cpio"
	make -C "$SRC" O="$B" -j"$JOBS" Image
	cp "$B/arch/riscv/boot/Image" "$OUT/Image-$v"
	cp "$B/System.map" "$OUT/System.map-$v"
done

# ---- 6. checksums ----
(cd "$OUT" && sha256sum firmware.elf firmware.bin $(ls Image-* System.map-* 2>/dev/null) > SHA256SUMS)
log "done: $OUT"
ls -l "$OUT"
cat "$OUT/SHA256SUMS"
