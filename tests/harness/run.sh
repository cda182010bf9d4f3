#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Tests of the VM harness's failure modes: each must end with its own exit status and a
# message that names the problem. Prints TAP and "harness: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
n=0 pass=0 fail=0
t() { # NAME WANT-RC WANT-TEXT CMD...
	local name=$1 want=$2 text=$3 out rc
	shift 3
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$text" <<<"$out"; then
		echo "ok $n $name"
		pass=$((pass + 1))
	else
		echo "$out" | tail -5 | sed "s/^/# $name: /"
		echo "not ok $n $name # exit $rc, want $want and '$text'"
		fail=$((fail + 1))
	fi
}
echo "1..4"
t device_model_fails_to_start 90 "device model did not start" \
	env TERN_EMU=/bin/false bash "$ROOT/scripts/vm.sh" --timeout 60 -- true
t qemu_cannot_start 91 "QEMU could not start" \
	env TERN_VM_MEM=1Z bash "$ROOT/scripts/vm.sh" --timeout 60 -- true
t guest_hang_is_killed 92 "did not finish within 3 s" \
	bash "$ROOT/scripts/vm.sh" --timeout 3 -- sleep 60
t module_load_failure_shows_dmesg 1 "tern.ko failed to load" \
	env KO="$ROOT/Makefile" bash "$ROOT/scripts/guest-test.sh"
echo "harness: $pass passed, $fail failed"
[ $fail = 0 ]
