#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Boot the TERN dev kernel under virtme-ng (TCG) with the TERN device model attached through
# vfio-user-pci, and run a command in the guest (or a shell when none is given).
#
#   scripts/vm.sh [--timeout SECONDS] [--rundir DIR] [-- CMD...]
#
# TERN_VM_DEVICES=N (default 1) attaches N devices, each served by its own device model
# process: device 0 on RUNDIR/tern.sock (control RUNDIR/control.sock and RUNDIR/control, log
# RUNDIR/emu.log), device i > 0 on RUNDIR/tern$i.sock (control$i.sock, control$i, emu$i.log).
# They are attached in that order, so device i has the i-th lowest PCI address and, once the
# driver probes them, /dev/accel/accel$i. TERN_VM_APPEND adds to the kernel command line.
# TERN_VM_ROOT=DIR boots DIR, read-write, as the guest's root filesystem instead of the host's
# (the Debian system of the package tests); the firmware then comes from DIR's /lib/firmware,
# and the run directory must be inside DIR (the guest sees it without the DIR prefix).
#
# The device model listens on a private socket in the run directory; the run directory is
# shared read-write with the guest (as the same path), so guest commands can leave files for
# the host there; the model's fault injection is served on RUNDIR/control.sock and, for the
# guest, through request files in RUNDIR/control (tern-emu --control-dir). The
# guest's firmware loader looks in firmware/out (or TERN_FW_PATH). Exit status: the guest command's, or 90 device model did not start, 91 QEMU
# could not start or connect, 92 the guest hung and was killed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

TIMEOUT=${TERN_VM_TIMEOUT:-900}
RUNDIR=
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) TIMEOUT=$2; shift 2 ;;
	--rundir) RUNDIR=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

KIMAGE=${KIMAGE:-$KBUILD_DIR/arch/x86/boot/bzImage}
EMU=${TERN_EMU:-$TERN_ROOT/target/release/tern-emu}
[ -f "$KIMAGE" ] || die "no kernel at $KIMAGE: run 'make kernel'"
[ -x "$EMU" ] || die "no device model at $EMU: run 'cargo build --release -p tern-emu'"
command -v vng >/dev/null || die "virtme-ng not found: run scripts/setup.sh"

own_rundir=0
if [ -z "$RUNDIR" ]; then
	RUNDIR=$(mktemp -d /tmp/tern-vm.XXXXXX)
	own_rundir=1
fi
mkdir -p "$RUNDIR"
DEVICES=${TERN_VM_DEVICES:-1}
case $DEVICES in [1-8]) ;; *) die "TERN_VM_DEVICES=$DEVICES: 1 to 8 devices" ;; esac
# Device i's suffix: none for device 0, i otherwise.
sfx() { [ "$1" = 0 ] || echo "$1"; }
socks=()
for i in $(seq 0 $((DEVICES - 1))); do socks+=("$RUNDIR/tern$(sfx "$i").sock"); done
rm -f "${socks[@]}"

emu_pids=()
vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && kill -KILL -- -"$vm_pid" 2>/dev/null
	for pid in ${emu_pids[@]+"${emu_pids[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	rm -f "${socks[@]}"
	[ $own_rundir = 1 ] && rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

qemu_devs=
for i in $(seq 0 $((DEVICES - 1))); do
	n=$(sfx "$i") sock=${socks[$i]}
	"$EMU" --socket "$sock" --control "$RUNDIR/control$n.sock" --control-dir "$RUNDIR/control$n" \
		--log-level "${TERN_EMU_LOG:-info}" ${TERN_EMU_ARGS:-} >"$RUNDIR/emu$n.log" 2>&1 &
	pid=$!
	emu_pids+=("$pid")
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		log "the device model did not start (device $i); its log:"
		sed 's/^/  emu| /' "$RUNDIR/emu$n.log" >&2
		exit 90
	fi
	dev="{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock\"}}"
	qemu_devs+="${qemu_devs:+ }-device '$dev'"
done

# On a kernel with KUnit (the sanitizer kernel), run the kernel patches' suites at boot and only
# them: allnoconfig leaves KUnit's default-enable and autorun off, the command line turns them on.
KUNIT_ARGS="kunit.enable=1 kunit.autorun=1 kunit.filter_glob=rust_dma_*"
# QEMU from the private prefix; the guest's RAM is shared memory, so DMA maps carry fds.
fw_arg="firmware_class.path=${TERN_FW_PATH:-$TERN_ROOT/firmware/out} "
root_cache=
root_args=()
if [ -n "${TERN_VM_ROOT:-}" ]; then
	[ -d "$TERN_VM_ROOT/etc" ] || die "TERN_VM_ROOT=$TERN_VM_ROOT is not a root filesystem"
	case $(realpath "$RUNDIR") in "$(realpath "$TERN_VM_ROOT")"/*) ;; *) die "the run directory $RUNDIR is not inside TERN_VM_ROOT" ;; esac
	# 9p: over virtiofs, programs of a debootstrapped root crash in ld.so at the first mount.
	root_args=(--root "$TERN_VM_ROOT" --rw --force-9p)
	# virtme-ng mounts a 9p root uncached; the guest is the root's only writer, so let it cache.
	root_cache="rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose "
	# virtme-ng gives the guest shared-memory RAM only with virtiofs; without it every DMA
	# window would go through messages. Ask for it here.
	qemu_devs="-object memory-backend-memfd,id=tern-mem,size=${TERN_VM_MEM:-1G},share=on -machine memory-backend=tern-mem $qemu_devs"
	fw_arg=
else
	root_args=(--rwdir "$RUNDIR")
fi
vng_args=(--run "$KIMAGE" --disable-kvm --qemu "$TERN_CACHE/bin/qemu-system-x86_64"
	${root_args[@]+"${root_args[@]}"}
	--cpus "${TERN_VM_CPUS:-2}" --memory "${TERN_VM_MEM:-1G}"
	--append "$fw_arg$root_cache$KUNIT_ARGS${TERN_VM_APPEND:+ $TERN_VM_APPEND}"
	--qemu-opts="$qemu_devs")
[ $# -gt 0 ] && vng_args+=(--exec "$*")

if [ $# -eq 0 ]; then
	vng "${vng_args[@]}"
	exit $?
fi
setsid timeout --kill-after=10 "$TIMEOUT" vng "${vng_args[@]}" </dev/null 2>"$RUNDIR/vng.err" &
vm_pid=$!
wait "$vm_pid"
rc=$?
vm_pid=
if [ $rc = 124 ] || [ $rc = 137 ]; then
	log "the guest did not finish within $TIMEOUT s and was killed"
	exit 92
fi
qemu_errors=$(grep -E '^qemu-system-x86_64: ' "$RUNDIR/vng.err" | grep -v ': warning: ')
if [ $rc != 0 ] && [ -n "$qemu_errors" ]; then
	log "QEMU could not start or could not attach the device:"
	echo "$qemu_errors" | sed 's/^/  qemu| /' >&2
	log "device model log:"
	tail -20 "$RUNDIR/emu.log" | sed 's/^/  emu| /' >&2
	exit 91
fi
[ -s "$RUNDIR/vng.err" ] && [ $rc != 0 ] && sed 's/^/  vng| /' "$RUNDIR/vng.err" >&2
exit $rc
