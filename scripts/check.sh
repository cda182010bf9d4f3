#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# `make check`: set up, build everything, run the host tests, the guest tests (on the sanitizer
# kernel), the harness's own failure-mode tests and the checks of the upstream series
# (`make upstream-check`, docs/upstream.md) and the Debian packages in a Debian guest
# (docs/packaging.md), and end with one line "N passed, N failed" over
# all. Every step prints its duration; every suite's full output is in $TERN_CACHE.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
T0=$(date +%s)

# The guest tests run on the sanitizer kernel; the module is built against it.
export KDIR=${KDIR:-$KSAN_DIR}
export KIMAGE=${KIMAGE:-$KDIR/arch/x86/boot/bzImage}
step setup bash scripts/setup.sh test || die "set-up failed"

# Lint (rustfmt, clippy on the workspace and on the module, the module's kernel rustfmt) counts as one result. It runs
# before the module build because the module's clippy build must be followed by a normal one.
lint() {
	local out=$TERN_CACHE/last-lint.txt rc
	cargo fmt --all --check &&
		cargo clippy -q --workspace --all-targets -- -D warnings || return 1
	# The module is formatted the way the kernel tree formats its Rust.
	rustfmt --edition 2021 --config-path "$KDIR/.rustfmt.toml" --check src/*.rs || return 1
	make -s module CLIPPY=1 >"$out" 2>&1
	rc=$?
	cat "$out" >&2
	[ $rc = 0 ] && ! grep -q 'warning' "$out"
}
if step lint lint; then lp=1 lf=0; else lp=0 lf=1; echo "lint: failed (see above)"; fi
step module make -s module || die "the module does not build"
step userspace cargo build --release --workspace --quiet || die "the workspace does not build"
step firmware make -s firmware || die "the firmware does not build"

# suite NAME CMD: runs a suite whose output ends "NAME: N passed, N failed"; sets P and F
# (a suite that fails without saying so, or says nothing, counts one failure).
suite() {
	local name=$1 out=$TERN_CACHE/last-$1-tests.txt rc line
	shift
	step "$name-tests" bash -c '"$@" 2>&1 | tee "$0"; exit "${PIPESTATUS[0]}"' "$out" "$@"
	rc=$?
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
	P=$(echo "$line" | sed -nE "s/$name: ([0-9]+) passed.*/\1/p")
	F=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed/\1/p')
	P=${P:-0} F=${F:-0}
	if [ $rc != 0 ] && [ "$F" = 0 ]; then
		echo "$name: the suite exited $rc without reporting a failure: counted as one"
		F=1
	fi
	[ -n "$line" ] || { echo "$name: the suite printed no summary: counted as one failure"; [ "$F" -gt 0 ] || F=1; }
}
suite host bash scripts/host-tests.sh
hp=$P hf=$F
suite guest bash scripts/guest-test.sh ${FILTER:-}
gp=$P gf=$F
suite harness bash tests/harness/run.sh
ap=$P af=$F
# The series is built in its own tree (a copy of the dev kernel's) and tested on the kernel it
# builds, not on the sanitizer kernel of the suites above.
suite upstream env -u KDIR -u KIMAGE bash scripts/upstream-check.sh
up=$P uf=$F
# The Debian packages, installed and used in a Debian system booted on the dev kernel.
suite packages env -u KDIR -u KIMAGE bash scripts/package-test.sh
pp=$P pf=$F

total_p=$((hp + gp + ap + up + pp + lp)) total_f=$((hf + gf + af + uf + pf + lf))
[ $total_p -gt 0 ] || total_f=$((total_f + 1))
log "check: host $hp/$hf, guest $gp/$gf, harness $ap/$af, upstream $up/$uf, packages $pp/$pf, lint $lp/$lf (passed/failed); $(($(date +%s) - T0)) s in all"
echo "$total_p passed, $total_f failed"
[ $total_f = 0 ]
