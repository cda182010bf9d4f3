#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Build the driver as of one upstream step (upstream/steps) out of tree against a kernel tree,
# with CLIPPY=1 and W=1, failing on any warning: the quick check of the step markers.
#
#   upstream-stage.sh STEP|all [KDIR]     (KDIR: the dev kernel)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
KDIR=${2:-$KBUILD_DIR}
cargo build -q --release -p tern-upstream
gen=$TERN_ROOT/target/release/tern-upstream
if [ "${1:-all}" = all ]; then steps=$($gen list); else steps=$1; fi
for s in $steps; do
	dir=$TERN_CACHE/upstream/stage/$s
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r Kbuild uapi "$dir/"
	$gen stage "$s" "$dir/src" --tree out
	out=$dir/build.log
	if ! make -s -C "$KDIR" M="$dir" CLIPPY=1 W=1 modules >"$out" 2>&1 || grep -q 'warning' "$out"; then
		cat "$out" >&2
		die "step $s does not build without warnings ($out)"
	fi
	log "step $s: builds ($(ls "$dir/src" | wc -l) files, $(cat "$dir"/src/*.rs | wc -l) lines)"
done
