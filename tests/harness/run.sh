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
# Accounting: fake test binaries and fake guest run directories, judged by the real scripts.
W=$(mktemp -d /tmp/tern-harness.XXXXXX)
trap 'rm -rf "$W"' EXIT
fake_bin() { # NAME BODY: a libtest-like binary
	printf '#!/bin/bash\n%s\n' "$2" >"$W/$1"
	chmod +x "$W/$1"
	echo "$1 $W $W/$1" >>"$W/bins-$1.txt"
}
fake_bin aborts 'echo "running 3 tests"; echo "test a ... ok"; kill -ABRT $$'
fake_bin hangs 'echo "running 1 tests"; sleep 600'
fake_bin silent 'exit 0'
fake_bin short 'echo "running 3 tests"; echo "test result: ok. 2 passed; 0 failed; 0 ignored"'
fake_bin good 'echo "running 2 tests"; echo "test result: ok. 2 passed; 0 failed; 0 ignored"'
host() { TERN_HOST_OUT=$W/out-$1 TERN_TEST_TIMEOUT=${2:-60} bash "$ROOT/scripts/host-tests.sh" --bins "$W/bins-$1.txt"; }
fake_run() { # NAME: a guest run directory with a clean dmesg and one passing test binary
	local d=$W/run-$1
	mkdir -p "$d"
	printf 'ok 1 module_load\n1..1\n' >"$d/steps.tap"
	printf 'KTAP version 1\n1..2\nok 1 a\nok 2 b\n' >"$d/tests-1.tap"
	echo "0 tern-guest-tests" >"$d/tests-1.rc"
	printf '[    0.1] boot\n[    5.0] tern-test: loading the module\n[    6.0] tern 0000:00:03.0: ready\n' >"$d/dmesg.txt"
	echo "$d"
}
judge() { bash "$ROOT/scripts/guest-test.sh" --judge "$@"; }
d_ok=$(fake_run ok)
d_rc=$(fake_run rc); echo "134 tern-guest-tests" >"$d_rc/tests-1.rc"
d_missing=$(fake_run missing); printf 'KTAP version 1\n1..3\nok 1 a\nok 2 b\n' >"$d_missing/tests-1.tap"
d_noplan=$(fake_run noplan); printf 'ok 1 module_load\n' >"$d_noplan/steps.tap"
d_kasan=$(fake_run kasan); echo '[    7.0] BUG: KASAN: slab-use-after-free in tern_foo' >>"$d_kasan/dmesg.txt"
d_dmaapi=$(fake_run dmaapi); echo '[    7.0] DMA-API: tern 0000:00:03.0: device driver frees DMA memory with wrong function' >>"$d_dmaapi/dmesg.txt"
d_hung=$(fake_run hung); echo '[  130.0] INFO: task tern-fuzz:123 blocked for more than 60 seconds.' >>"$d_hung/dmesg.txt"
d_rcu=$(fake_run rcu); echo '[  130.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' >>"$d_rcu/dmesg.txt"
d_boot=$(fake_run boot); sed -i '1a [    0.004] BUG: KASAN: wild-memory-access in do_raw_spin_lock' "$d_boot/dmesg.txt"
d_nodmesg=$(fake_run nodmesg); rm "$d_nodmesg/dmesg.txt"
d_benign=$(fake_run benign); echo '[    7.0] DMA-API: preallocated 65536 debug entries' >>"$d_benign/dmesg.txt"

echo "1..20"
t host_binary_that_aborts_fails 1 "aborts: FAILED: killed by signal 6" host aborts
t host_binary_that_hangs_is_killed 1 "hangs: FAILED: hung: killed after 2 s" host hangs 2
t host_binary_without_summary_fails 1 "silent: FAILED: printed no test result" host silent
t host_binary_with_missing_results_fails 1 "short: FAILED: announced 3 tests, reported 2" host short
t host_good_binary_passes 0 "host: 2 passed, 0 failed" host good
t guest_clean_run_passes 0 "guest: 4 passed, 0 failed" judge "$d_ok"
t guest_binary_exit_status_counts 1 "exited 134 without reporting a failing test" judge "$d_rc"
t guest_plan_with_missing_result_fails 1 "plan 1..3 but 2 results: 1 missing" judge "$d_missing"
t guest_steps_without_plan_fail 1 "steps.tap: no plan" judge "$d_noplan"
t guest_kasan_report_fails 1 "not ok dmesg_clean" judge "$d_kasan"
t guest_dma_api_report_fails 1 "DMA-API: tern" judge "$d_dmaapi"
t guest_hung_task_fails 1 "blocked for more than" judge "$d_hung"
t guest_rcu_stall_fails 1 "detected stalls" judge "$d_rcu"
t guest_boot_report_shown_not_blamed 0 "NOTE: the kernel reported a problem during its own boot" judge "$d_boot"
t guest_missing_dmesg_fails 1 "not ok dmesg_collected" judge "$d_nodmesg"
t guest_benign_dma_api_line_passes 0 "ok dmesg_clean" judge "$d_benign"
# KUnit results in the boot log, flattened by tests/guest/kunit-tap.sh and judged like any TAP.
kunit_log() { # CASES-LINES SUITE-END
	printf '[    0.5] KTAP version 1\n[    0.5] 1..1\n[    0.6]     # Subtest: rust_dma_fence\n'
	printf '%s' "$1"
	printf '%s' "$2"
}
kunit_run() { # NAME LOG: a clean run with the KUnit TAP from LOG
	local d
	d=$(fake_run "$1")
	printf '%s' "$2" | bash "$ROOT/tests/guest/kunit-tap.sh" rust_dma_fence >"$d/tests-kunit.tap"
	echo "$d"
}
d_kunit_ok=$(kunit_run kunit_ok "$(kunit_log '[    0.6]     1..2
[    0.7]     ok 1 a
[    0.7]     ok 2 b
' '[    0.8] ok 1 rust_dma_fence
')")
d_kunit_fail=$(kunit_run kunit_fail "$(kunit_log '[    0.6]     1..2
[    0.7]     ok 1 a
[    0.7]     not ok 2 b
' '[    0.8] not ok 1 rust_dma_fence
')")
d_kunit_died=$(kunit_run kunit_died "$(kunit_log '[    0.6]     1..2
[    0.7]     ok 1 a
' '')")
d_kunit_none=$(kunit_run kunit_none '[    0.1] no kunit here
')
t kunit_suite_counts_each_case 0 "guest: 7 passed, 0 failed" judge "$d_kunit_ok"
t kunit_failing_case_fails 1 "not ok 2 rust_dma_fence.b" judge "$d_kunit_fail"
t kunit_suite_that_died_fails 1 "suite rust_dma_fence: plan 2, 1 results, no end" judge "$d_kunit_died"
t kunit_suite_missing_fails 1 "suite rust_dma_fence did not run" judge "$d_kunit_none"
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
