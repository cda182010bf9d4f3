#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Runs inside the VM (started by scripts/guest-test.sh): load the module, run the guest test
# binaries, unload and reload, save KTAP results and dmesg into OUT for the host to judge.
#
#   run.sh OUT MODULE TESTBIN[=FILTER]...
set -u
OUT=$1 KO=$2
# The project (its tools and kernels), wherever the module comes from (in tree, it is the
# kernel tree's).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
shift 2
step=0
steps=$OUT/steps.tap
: >"$steps"
result() { # NAME RC [DIAG...]
	step=$((step + 1))
	local name=$1 rc=$2
	shift 2
	for d in "$@"; do printf '# %s: %s\n' "$name" "$d" >>"$steps"; done
	if [ "$rc" = 0 ]; then echo "ok $step $name" >>"$steps"; else echo "not ok $step $name" >>"$steps"; fi
}
# The host reads this marker to tell reports of the kernel's own boot from those after TERN
# code first ran.
echo "tern-test: loading the module" >/dev/kmsg

# Waits until every TERN PCI function has its accel node (at least one).
wait_node() {
	local want
	want=$(grep -lx 0x7e50 /sys/bus/pci/devices/*/device 2>/dev/null | wc -l)
	[ "$want" -gt 0 ] || want=1
	for _ in $(seq 50); do
		[ "$(ls /dev/accel 2>/dev/null | grep -c '^accel[0-9]')" -ge "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

uname -r >"$OUT/uname"
# The KUnit suites ran at boot: their results, one per test case.
if [ -f "$OUT/kunit-suites" ]; then
	dmesg | "$(dirname "$0")/kunit-tap.sh" $(cat "$OUT/kunit-suites") >"$OUT/tests-kunit.tap"
fi
if ! insmod "$KO" 2>"$OUT/insmod.err"; then
	result module_load 1 "insmod: $(cat "$OUT/insmod.err")"
	dmesg >"$OUT/dmesg.txt"
	echo "1..$step" >>"$steps"
	exit 93
fi
wait_node
result module_load $? "$(ls /dev/accel 2>&1 | tr '\n' ' ')"
# Where the module's code was, to name the frames of a report made after it is unloaded.
cat /sys/module/tern/sections/.text >"$OUT/module-text" 2>/dev/null

# Fault injection reaches the device model through request files in the run directory.
export TERN_CONTROL_DIR=$OUT/control
# The second device's model, when the VM has one (the sharing tests).
export TERN_CONTROL_DIR1=$OUT/control1
n=0
for t in "$@"; do
	n=$((n + 1))
	# PATH[=ARGS], ARGS comma-separated (the guest command line is a single string).
	bin=${t%%=*} filter=
	[ "$bin" != "$t" ] && filter=${t#*=} && filter=${filter//,/ }
	"$bin" $filter >"$OUT/tests-$n.tap" 2>"$OUT/tests-$n.err"
	rc=$?
	# The host counts the exit status too (scripts/guest-test.sh).
	echo "$rc $(basename "$bin")" >"$OUT/tests-$n.rc"
	[ -s "$OUT/tests-$n.err" ] && sed 's/^/# stderr: /' "$OUT/tests-$n.err" >>"$OUT/tests-$n.tap"
	# Kept in case a later step hangs the guest; replaced by the full dmesg at the end.
	dmesg >"$OUT/dmesg.txt"
done

# Unbind under load: a process with open files and jobs in flight sees the device go away
# (errors, no hang), then the module unloads and loads again.
BDF=$(basename "$(readlink -f /sys/bus/pci/drivers/tern/0000:* 2>/dev/null | head -1)")
TERN=$ROOT/target/release/tern
"$TERN" bench --jobs 1000000 >/dev/null 2>"$OUT/load.err" &
load=$!
sleep 2
if [ -n "$BDF" ] && kill -0 $load 2>/dev/null; then
	echo "$BDF" >/sys/bus/pci/drivers/tern/unbind
	ub=$?
	for _ in $(seq 100); do kill -0 $load 2>/dev/null || break; sleep 0.1; done
	if kill -0 $load 2>/dev/null; then
		kill -9 $load; wait $load 2>/dev/null
		result unbind_under_load 1 "the loaded process did not notice the unbind within 10 s"
	else
		wait $load; lrc=$?
		result unbind_under_load $((ub != 0 || lrc == 0)) "unbind rc $ub, load exit $lrc: $(tail -1 "$OUT/load.err")"
	fi
else
	kill -9 $load 2>/dev/null; wait $load 2>/dev/null
	result unbind_under_load 1 "no bound device ($BDF) or the load died early: $(tail -2 "$OUT/load.err")"
fi

rmmod tern 2>"$OUT/rmmod.err"
rc=$?
result module_unload $rc "$(cat "$OUT/rmmod.err")"

# Firmware failures: probe fails with one line naming the file; nothing is bound.
FWP=/sys/module/firmware_class/parameters/path
good_path=$(cat $FWP)
fw_case() { # NAME DIR EXPECT-IN-DMESG
	local name=$1 dir=$2 want=$3
	echo -n "$dir" >$FWP
	local n
	n=$(dmesg | wc -l)
	insmod "$KO" 2>"$OUT/insmod.err"
	sleep 0.5
	local bound=0
	ls /sys/bus/pci/drivers/tern/0000:* >/dev/null 2>&1 && bound=1
	local line
	line=$(dmesg | tail -n +$((n + 1)) | grep -E 'tern' | grep -E 'tern-fw' | head -3 | tr '\n' ' ')
	local ok=0
	[ $bound = 0 ] || ok=1
	echo "$line" | grep -q "$want" || ok=1
	ls /dev/accel/accel* >/dev/null 2>&1 && ok=1
	result "$name" $ok "bound=$bound dmesg: ${line:-none}"
	rmmod tern 2>/dev/null
}
fwdir=$(mktemp -d)
mkdir -p "$fwdir/empty" "$fwdir/corrupt/tern" "$fwdir/badabi/tern"
fw_case firmware_missing "$fwdir/empty" "tern-fw"
cp "$good_path/tern/tern-fw-v1.bin" "$fwdir/corrupt/tern/tern-fw-v1.bin"
printf 'XXXX' | dd of="$fwdir/corrupt/tern/tern-fw-v1.bin" bs=1 seek=200 conv=notrunc 2>/dev/null
fw_case firmware_corrupt "$fwdir/corrupt" "tern-fw-v1.bin"
cp "$good_path/tern/tern-fw-v1.bin" "$fwdir/badabi/tern/tern-fw-v1.bin"
printf '\x05\x00\x07\x00' | dd of="$fwdir/badabi/tern/tern-fw-v1.bin" bs=1 seek=12 conv=notrunc 2>/dev/null
fw_case firmware_incompatible_abi "$fwdir/badabi" "ABI"
echo -n "$good_path" >$FWP

# A signal to insmod while the probe waits for the device must not make the probe give up
# (and free memory the device is still reading): the device binds all the same.
n0=$(dmesg | wc -l)
insmod "$KO" 2>"$OUT/insmod.err" &
ipid=$!
sleep 0.05
kill -INT $ipid 2>/dev/null
wait $ipid
wait_node
bound=0
ls /sys/bus/pci/drivers/tern/0000:* >/dev/null 2>&1 && bound=1
result probe_survives_a_signal $((bound != 1)) "bound=$bound: $(dmesg | tail -n +$((n0 + 1)) | grep tern | tail -2 | tr '\n' ' ')"
rmmod tern 2>/dev/null

insmod "$KO" 2>"$OUT/insmod.err" && wait_node
rc=$?
[ $rc = 0 ] && "$TERN" gemm 16 16 16 >"$OUT/reload-gemm.txt" 2>&1
rc2=$?
result module_reload $((rc != 0 || rc2 != 0)) "$(cat "$OUT/insmod.err") $(tail -1 "$OUT/reload-gemm.txt" 2>/dev/null)"

# The tern tool end to end: assemble, allocate, run, print; and a failing job's exit status.
out=$("$TERN" run "$ROOT/kernels/fill.s" --arg buf:20 --arg int:0x3fc00000 --arg int:4 --print 0:f32 2>&1)
rc=$?
[ $rc = 0 ] && [ "$(echo "$out" | grep '^arg0:')" = "arg0: 1.5 1.5 1.5 1.5 0" ]
result tern_run_fill $? "exit $rc: $(echo "$out" | tr '\n' ' ')"
printf 'ld r1, r0, 8\nhalt\n' >"$OUT/fault.s"
out=$("$TERN" run "$OUT/fault.s" 2>&1)
rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "MMU fault at device VA 0x8"
result tern_run_failing_job_exit_3 $? "exit $rc: $(echo "$out" | tr '\n' ' ')"
rmmod tern 2>/dev/null
# Leaks: after everything above and the last rmmod, kmemleak must find nothing allocated on
# behalf of tern (named, or at module addresses now unloaded) or by DRM; other reports are
# only counted.
KML=/sys/kernel/debug/kmemleak
[ -e $KML ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
if [ -w $KML ]; then
	sleep 6 # kmemleak does not report objects younger than 5 s
	echo scan >$KML; sleep 1; echo scan >$KML
	cat $KML >"$OUT/kmemleak.txt"
	total=$(grep -c 'unreferenced object' "$OUT/kmemleak.txt")
	ours=$(awk '/unreferenced object/ {n += f; f = 0} /tern|drm_/ {f = 1} /^ +0xffffffff[0-9a-f]+$/ {f = 1} END {print n + f}' "$OUT/kmemleak.txt")
	first=
	[ "$ours" != 0 ] && first=$(grep -A24 -m1 'unreferenced object' "$OUT/kmemleak.txt" | grep -vE '^ +[0-9a-f]{2} ' | head -18 | tr -s ' ' | tr '\n' '|')
	result no_leaks $((ours != 0)) "kmemleak: $ours reports involve tern or DRM, $total in all" ${first:+"first: $first"}
else
	result no_leaks 1 "kmemleak is not available in this kernel"
fi
dmesg >"$OUT/dmesg.txt"
# The plan comes last: a run that died half-way leaves none, and the host counts that.
echo "1..$step" >>"$steps"
exit 0
