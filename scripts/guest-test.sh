#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The guest test run: boot the dev kernel once under TCG with the device model attached, load
# tern.ko, run the guest test binaries, collect their KTAP and the guest dmesg. Fails on any
# failed test and on any WARN, BUG, oops, KASAN, UBSAN or lockdep report in dmesg.
# Ends with "N passed, N failed".
#
#   scripts/guest-test.sh [FILTER]     (FILTER selects guest tests by name)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

KO=${KO:-$TERN_ROOT/tern.ko}
BIN=$TERN_ROOT/target/release
[ -f "$KO" ] || die "no module at $KO: run 'make'"
[ -x "$BIN/tern-guest-tests" ] || die "no guest tests: run 'cargo build --release'"

R=$(mktemp -d /tmp/tern-guest.XXXXXX)
trap 'rm -rf "$R"' EXIT
filter=${1:-}
t0=$(date +%s.%N)
"$TERN_ROOT/scripts/vm.sh" --rundir "$R" --timeout "${TERN_GUEST_TIMEOUT:-900}" -- \
	"$TERN_ROOT/tests/guest/run.sh" "$R" "$KO" "$BIN/tern-guest-tests${filter:+=$filter}"
vm_rc=$?
elapsed=$(echo "$(date +%s.%N) - $t0" | bc)

pass=0 fail=0
shopt -s nullglob
for f in "$R"/steps.tap "$R"/tests-*.tap; do
	sed 's/^/    /' "$f"
	pass=$((pass + $(grep -cE '^ *ok [0-9]+' "$f")))
	fail=$((fail + $(grep -cE '^ *not ok [0-9]+' "$f")))
done
case $vm_rc in
0) ;;
93)
	log "tern.ko failed to load; guest dmesg:"
	tail -25 "$R/dmesg.txt" 2>/dev/null | sed 's/^/  dmesg| /' >&2 ;;
*) log "the VM run failed (exit $vm_rc)"; fail=$((fail + 1)) ;;
esac

# Kernel reports that fail the run whatever the tests said.
BAD='WARNING:|BUG:|kernel BUG|Oops|general protection fault|KASAN:|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|lockdep is turned off|INFO: task .* blocked|Kernel panic|refcount_t:|list_(add|del) corruption|Memory manager not clean'
if [ -f "$R/dmesg.txt" ]; then
	cp "$R/dmesg.txt" "$TERN_CACHE/last-guest-dmesg.txt"
	if grep -qE "$BAD" "$R/dmesg.txt"; then
		fail=$((fail + 1))
		echo "    not ok dmesg_clean"
		grep -E -A8 "$BAD" "$R/dmesg.txt" | head -60 | sed 's/^/    # dmesg| /'
	else
		pass=$((pass + 1))
		echo "    ok dmesg_clean"
	fi
elif [ $vm_rc = 0 ]; then
	fail=$((fail + 1))
	echo "    not ok dmesg_collected"
fi
printf '[tern] guest run: %.1f s (boot, tests, unload/reload), full dmesg in %s\n' \
	"$elapsed" "$TERN_CACHE/last-guest-dmesg.txt" >&2
[ $((pass + fail)) -gt 0 ] || { log "no guest test ran"; fail=1; }
echo "guest: $pass passed, $fail failed"
[ "$fail" = 0 ]
