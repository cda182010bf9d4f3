#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Build the TERN dev kernel in the cache: Debian's linux-source-7.3, kernel/patches in series
# order, allnoconfig + kernel/tern.config. Rebuilt only when the source package, the fragment,
# the patches or this script change; patch changes are applied to the existing tree (old series
# reversed, new series applied) so the rebuild stays incremental.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KDIR=$KBUILD_DIR
PATCHDIR=$TERN_ROOT/kernel/patches
FRAGMENT=$TERN_ROOT/kernel/tern.config
JOBS=${JOBS:-$(nproc)}

deb=$(ls "$TERN_CACHE"/kernel/src/${TERN_KERNEL_PKG}_*.deb 2>/dev/null | tail -1) ||
	true
[ -n "$deb" ] || die "no $TERN_KERNEL_PKG package in the cache: run scripts/setup-prefix.sh"

series() { grep -v '^\s*\(#\|$\)' "$PATCHDIR/series"; }
patch_key() { (cd "$PATCHDIR" && cat series $(series)) | sha256sum | cut -c1-16; }
KEY="$(basename "$deb") cfg=$(sha256sum <"$FRAGMENT" | cut -c1-16) patches=$(patch_key) script=$(sha256sum <"$0" | cut -c1-16)"

if stamp_ok kernel "$KEY" && [ -f "$KDIR/arch/x86/boot/bzImage" ]; then
	log "kernel: up to date ($(cat "$KDIR/include/config/kernel.release"))"
	exit 0
fi

# 1. Source tree, extracted once per source package.
if [ "$(cat "$KDIR/.tern-source" 2>/dev/null)" != "$(basename "$deb")" ]; then
	log "kernel: extracting $(basename "$deb")"
	rm -rf "$KDIR" "$TERN_CACHE/kernel/x"
	mkdir -p "$TERN_CACHE/kernel/x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TERN_CACHE/kernel/x" --wildcards '*.tar.xz'
	tar -xf "$TERN_CACHE"/kernel/x/usr/src/${TERN_KERNEL_PKG}.tar.xz -C "$TERN_CACHE/kernel"
	mv "$TERN_CACHE/kernel/$TERN_KERNEL_PKG" "$KDIR"
	rm -rf "$TERN_CACHE/kernel/x"
	basename "$deb" >"$KDIR/.tern-source"
fi

# 2. Patches: reverse the series applied last time (kept in the tree), apply ours.
applied=$KDIR/.tern-patches
if [ -d "$applied" ] && ! cmp -s <(cd "$applied" && cat series $(grep -v '^\s*\(#\|$\)' series)) \
	<(cd "$PATCHDIR" && cat series $(series)); then
	log "kernel: reverting the previous patch series"
	for p in $(grep -v '^\s*\(#\|$\)' "$applied/series" | tac); do
		patch -d "$KDIR" -p1 -R -s -f <"$applied/$p" || die "cannot revert $p: delete $KDIR and rerun"
	done
	rm -rf "$applied"
fi
if [ ! -d "$applied" ]; then
	for p in $(series); do
		log "kernel: applying $p"
		patch -d "$KDIR" -p1 -s -f --no-backup-if-mismatch <"$PATCHDIR/$p" ||
			die "patch $p does not apply to $(basename "$deb")"
	done
	mkdir -p "$applied"
	(cd "$PATCHDIR" && cp series $(series) "$applied/")
fi

# 3. Configuration.
cd "$KDIR"
kmake() { make -s -j"$JOBS" "$@"; }
log "kernel: configuring (allnoconfig + $(basename "$FRAGMENT"))"
make -s rustavailable >/dev/null || die "Rust toolchain not usable for the kernel: run scripts/setup-rust.sh"
KCONFIG_CONFIG=.config.new scripts/kconfig/merge_config.sh -n -m /dev/null "$FRAGMENT" >/dev/null
KCONFIG_ALLCONFIG=.config.new kmake allnoconfig >/dev/null
rm -f .config.new .config.new.old
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" .config && { log "config: $opt is set, wanted off"; bad=1; } ;;
	CONFIG_*) grep -qxF "$line" .config || { log "config: wanted $line, got '$(grep "^${line%%=*}=" .config || echo unset)'"; bad=1; } ;;
	"# CONFIG_"*) opt=${line#\# }; opt=${opt%% *}; grep -q "^$opt=" .config && { log "config: $opt is set, wanted off"; bad=1; } ;;
	esac
done <"$FRAGMENT"
[ $bad = 0 ] || die "the config fragment did not apply as written (see above)"

# 4. Build: bzImage, in-tree modules, and the Rust metadata out-of-tree modules link against.
log "kernel: building with $JOBS jobs (a cold build takes about 7 minutes)"
kmake bzImage modules
[ -f rust/kernel.o ] && ls rust/*.rmeta >/dev/null 2>&1 || die "the build tree has no Rust metadata"
stamp_set kernel "$KEY"
log "kernel: built $(cat include/config/kernel.release)"
