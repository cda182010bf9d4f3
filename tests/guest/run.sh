#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Runs inside the VM (started by scripts/guest-test.sh): load the module, run the guest test
# binaries, unload and reload, save KTAP results and dmesg into OUT for the host to judge.
#
#   run.sh OUT MODULE TESTBIN...
set -u
OUT=$1 KO=$2
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
wait_node() { for _ in $(seq 50); do ls /dev/accel/accel* >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

uname -r >"$OUT/uname"
if ! insmod "$KO" 2>"$OUT/insmod.err"; then
	result module_load 1 "insmod: $(cat "$OUT/insmod.err")"
	dmesg >"$OUT/dmesg.txt"
	exit 93
fi
wait_node
result module_load $? "$(ls /dev/accel 2>&1 | tr '\n' ' ')"

n=0
for t in "$@"; do
	n=$((n + 1))
	"$t" >"$OUT/tests-$n.tap" 2>"$OUT/tests-$n.err"
	rc=$?
	[ -s "$OUT/tests-$n.err" ] && sed 's/^/# stderr: /' "$OUT/tests-$n.err" >>"$OUT/tests-$n.tap"
	grep -q '^1\.\.' "$OUT/tests-$n.tap" || result "$(basename "$t")_ran" 1 "exit $rc, no KTAP plan"
done

rmmod tern 2>"$OUT/rmmod.err"
rc=$?
result module_unload $rc "$(cat "$OUT/rmmod.err")"
if [ $rc = 0 ]; then
	insmod "$KO" 2>"$OUT/insmod.err" && wait_node
	result module_reload $? "$(cat "$OUT/insmod.err")"
	rmmod tern 2>/dev/null
fi
dmesg >"$OUT/dmesg.txt"
exit 0
