#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The guest test run: boot the dev kernel once under TCG with the device model attached, load
# tern.ko, run the guest test binaries, collect their KTAP, exit statuses and the guest dmesg.
# Fails on any failed test, a plan with missing results, a test binary that exited non-zero,
# and on any kernel report (sanitizers, lockdep, DMA-API, hung tasks, RCU stalls) in dmesg.
# Ends with "N passed, N failed".
#
#   scripts/guest-test.sh [FILTER]     (FILTER selects guest tests by name; A,B selects both)
#   scripts/guest-test.sh --judge DIR [VM-RC]
#                                      judge the results a run left in DIR (harness tests)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --judge ]; then
	R=$2 vm_rc=${3:-0} elapsed=0 judge_only=1
else
	judge_only=0

	KO=${KO:-$TERN_ROOT/tern.ko}
	BIN=$TERN_ROOT/target/release
	[ -f "$KO" ] || die "no module at $KO: run 'make'"
	[ -x "$BIN/tern-guest-tests" ] || die "no guest tests: run 'cargo build --release'"

	R=$(mktemp -d /tmp/tern-guest.XXXXXX)
	trap 'rm -rf "$R"' EXIT
	# A kernel built with KUnit runs the suites of the driver's kernel patches at boot; the
	# guest must then find each of them complete (tests/guest/kunit-tap.sh).
	kimage=${KIMAGE:-$KBUILD_DIR/arch/x86/boot/bzImage}
	kconfig=$(dirname "$kimage")/../../../.config
	if grep -q '^CONFIG_KUNIT=y' "$kconfig" 2>/dev/null; then
		echo "$TERN_KUNIT_SUITES" >"$R/kunit-suites"
	fi
	filter=${1:-}
	# The test binaries, each "PATH[=ARGS]": the guest tests (unless TERN_GUEST_SKIP_TESTS=1),
	# then the fuzzer with TERN_FUZZ_ARGS (default --quick; set it empty to leave it out).
	bins=()
	[ "${TERN_GUEST_SKIP_TESTS:-0}" = 1 ] || bins+=("$BIN/tern-guest-tests${filter:+=$filter}")
	fuzz_args=${TERN_FUZZ_ARGS---quick}
	if [ -n "$fuzz_args" ]; then
		[ -x "$BIN/tern-fuzz" ] || die "no fuzzer: run 'cargo build --release'"
		# The guest command line is one string: arguments travel comma-separated.
		fuzz_args=$(echo "$fuzz_args" | tr -s ' ' ',')
		bins+=("$BIN/tern-fuzz=$fuzz_args")
	fi
	t0=$(date +%s.%N)
	# Two devices: the sharing tests pass buffers and fences between them; every other test
	# uses the first (accel0, whose model serves RUNDIR/control).
	TERN_VM_DEVICES=${TERN_VM_DEVICES:-2} \
		"$TERN_ROOT/scripts/vm.sh" --rundir "$R" --timeout "${TERN_GUEST_TIMEOUT:-900}" -- \
		"$TERN_ROOT/tests/guest/run.sh" "$R" "$KO" "${bins[@]}"
	vm_rc=$?
	elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
fi

shopt -s nullglob
taps=("$R"/steps.tap "$R"/tests-*.tap)
[ -f "$R/steps.tap" ] || taps=("$R"/tests-*.tap)
for f in "${taps[@]}"; do sed 's/^/    /' "$f"; done
counts=$(bash "$TERN_ROOT/scripts/tap-count.sh" "${taps[@]}")
echo "$counts" | sed '$d' | sed 's/^/    /'
read -r pass fail skip <<<"$(echo "$counts" | tail -1)"
[ "$skip" = 0 ] || echo "    # $skip skipped"
[ -f "$R/steps.tap" ] || { echo "    # no step results: the guest run did not start"; fail=$((fail + 1)); }
# A test binary's exit status counts: one that failed or died without a failing result.
for rcf in "$R"/tests-*.rc; do
	read -r rc name <"$rcf"
	tap=${rcf%.rc}.tap
	if [ "$rc" != 0 ] && ! grep -qE '^not ok [0-9]+' "$tap"; then
		echo "    not ok ${name}_exit_status # exited $rc without reporting a failing test"
		fail=$((fail + 1))
	fi
done
case $vm_rc in
0) ;;
93)
	log "tern.ko failed to load; guest dmesg:"
	tail -25 "$R/dmesg.txt" 2>/dev/null | sed 's/^/  dmesg| /' >&2 ;;
*) log "the VM run failed (exit $vm_rc)"; fail=$((fail + 1)) ;;
esac

# Kernel reports that fail the run whatever the tests said: sanitizers (KASAN, KFENCE, UBSAN),
# lockdep, atomic sleep, list debugging, DMA-API debugging, hung tasks, RCU stalls, lockups.
BAD='WARNING:|BUG:|kernel BUG|Oops|general protection fault|KASAN:|KFENCE:|UBSAN:|DMA-API:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|lockdep is turned off|INFO: task .* blocked|rcu: INFO: .*detected stall|self-detected stall|soft lockup|hard LOCKUP|Kernel panic|refcount_t:|list_(add|del) corruption|Memory manager not clean|sleeping function called from invalid context'
# Lines that match the patterns above but report no problem.
BENIGN='DMA-API: preallocated [0-9]+ debug entries|DMA-API: debugging enabled by kernel config'
if [ -f "$R/dmesg.txt" ]; then
	[ $judge_only = 1 ] || cp "$R/dmesg.txt" "$TERN_CACHE/last-guest-dmesg.txt"
	for f in kmemleak.txt module-text; do
		[ $judge_only = 1 ] || [ ! -f "$R/$f" ] || cp "$R/$f" "$TERN_CACHE/last-guest-$f"
	done
	# Reports printed before the run's first line (the kernel's own boot, before any TERN code
	# was loaded) cannot come from the driver: they are shown, not counted.
	marker=$(grep -n 'tern-test: loading the module' "$R/dmesg.txt" | head -1 | cut -d: -f1)
	if [ -n "$marker" ]; then
		head -n "$marker" "$R/dmesg.txt" | grep -vE "$BENIGN" >"$R/dmesg-boot.txt"
		tail -n +"$marker" "$R/dmesg.txt" | grep -vE "$BENIGN" >"$R/dmesg-run.txt"
	else
		: >"$R/dmesg-boot.txt"
		grep -vE "$BENIGN" "$R/dmesg.txt" >"$R/dmesg-run.txt"
	fi
	if grep -qE "$BAD" "$R/dmesg-boot.txt"; then
		echo "    # NOTE: the kernel reported a problem during its own boot, before the module was loaded (not counted against TERN):"
		grep -E -A12 "$BAD" "$R/dmesg-boot.txt" | head -30 | sed 's/^/    # boot dmesg| /'
	fi
	if grep -qE "$BAD" "$R/dmesg-run.txt"; then
		fail=$((fail + 1))
		echo "    not ok dmesg_clean"
		grep -E -A12 "$BAD" "$R/dmesg-run.txt" | head -80 | sed 's/^/    # dmesg| /'
	else
		pass=$((pass + 1))
		echo "    ok dmesg_clean"
	fi
else
	fail=$((fail + 1))
	echo "    not ok dmesg_collected # the guest left no dmesg: it crashed or never ran"
fi
printf '[tern] guest run: %.1f s (boot, tests, unload/reload), full dmesg in %s\n' \
	"$elapsed" "$TERN_CACHE/last-guest-dmesg.txt" >&2
# The fuzzer's figures, for the log.
grep -h '^tern-fuzz: seed=' "$R"/tests-*.tap 2>/dev/null | sed 's/^/[tern] /' >&2
[ $((pass + fail)) -gt 0 ] || { log "no guest test ran"; fail=1; }
echo "guest: $pass passed, $fail failed"
[ "$fail" = 0 ]
