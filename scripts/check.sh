#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# `make check`: set up, build everything, run the host tests, the guest tests and the VM
# harness's own failure-mode tests, and end with one line "N passed, N failed" over all.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"

step setup bash scripts/setup.sh || die "set-up failed"
# Lint (rustfmt, clippy on the workspace and on the module) counts as one result. It runs
# before the module build because the module's clippy build must be followed by a normal one.
lint() {
	cargo fmt --all --check &&
		cargo clippy -q --workspace --all-targets -- -D warnings &&
		make -s module CLIPPY=1 2>&1 | tee /dev/stderr | { ! grep -q 'warning'; }
}
if step lint lint; then lp=1 lf=0; else lp=0 lf=1; echo "lint: failed (see above)"; fi
step module make -s module || die "the module does not build"
step userspace cargo build --release --workspace --quiet || die "the workspace does not build"
step firmware make -s firmware || die "the firmware does not build"

host_out=$TERN_CACHE/last-host-tests.txt
step host-tests bash -c "cargo test --release --workspace 2>&1 | tee '$host_out'"
host_rc=$?
hp=$(grep -E '^test result:' "$host_out" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
hf=$(grep -E '^test result:' "$host_out" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | paste -sd+ | bc)
hp=${hp:-0} hf=${hf:-0}
[ $host_rc = 0 ] || [ "$hf" -gt 0 ] || hf=1 # a build failure counts as a failure
echo "host: $hp passed, $hf failed"

# suite NAME CMD: runs a suite whose output ends "NAME: N passed, N failed"; sets P and F
# (a suite that fails without saying so counts one failure).
suite() {
	local name=$1 out=$TERN_CACHE/last-$1-tests.txt rc line
	shift
	step "$name-tests" bash -c "$* 2>&1 | tee '$out'; exit \${PIPESTATUS[0]}"
	rc=$?
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
	P=$(echo "$line" | sed -nE "s/$name: ([0-9]+) passed.*/\1/p")
	F=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed/\1/p')
	P=${P:-0} F=${F:-0}
	[ $rc = 0 ] || [ "$F" -gt 0 ] || F=1
}
suite guest bash scripts/guest-test.sh ${FILTER:-}
gp=$P gf=$F
suite harness bash tests/harness/run.sh
ap=$P af=$F

total_p=$((hp + gp + ap + lp)) total_f=$((hf + gf + af + lf))
[ $total_p -gt 0 ] || total_f=$((total_f + 1))
echo "$total_p passed, $total_f failed"
[ $total_f = 0 ]
