#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Build a TERN dev kernel in the cache: Debian's linux-source-7.3 at the pinned version,
# kernel/patches in series order, allnoconfig + the flavour's config fragments.
#
#   build-kernel.sh [dev|san]
#
# dev: GCC, kernel/tern.config + trace.config + test.config, in $KBUILD_DIR; for make demo, make vm and
#      benchmarks (with ftrace for profiles).
# san: Clang (LLVM=-$TERN_LLVM), tern.config + sanitize.config, in $KSAN_DIR; the guest tests
#      run on it.
# Rebuilt only when the source package, a fragment, the patches, the toolchain or this script
# change; patch changes are applied to the existing tree (the patches after the part of the
# series that did not change reversed, the new ones applied) so the rebuild stays incremental.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FLAVOUR=${1:-dev}
PATCHDIR=$TERN_ROOT/kernel/patches
case $FLAVOUR in
dev) KDIR=$KBUILD_DIR FRAGMENTS=("$TERN_ROOT/kernel/tern.config" "$TERN_ROOT/kernel/trace.config" "$TERN_ROOT/kernel/test.config")
	KLLVM=() ;;
san) KDIR=$KSAN_DIR FRAGMENTS=("$TERN_ROOT/kernel/tern.config" "$TERN_ROOT/kernel/sanitize.config")
	KLLVM=("LLVM=-$TERN_LLVM") ;;
*) die "unknown kernel flavour '$FLAVOUR' (dev or san)" ;;
esac
JOBS=${JOBS:-$(nproc)}

deb=$TERN_CACHE/kernel/src/${TERN_KERNEL_PKG}_${TERN_KERNEL_VERSION//:/%3a}_all.deb
[ -f "$deb" ] || die "no $TERN_KERNEL_PKG $TERN_KERNEL_VERSION package in the cache: run scripts/setup-prefix.sh"

series() { grep -v '^\s*\(#\|$\)' "$PATCHDIR/series"; }
patch_key() { (cd "$PATCHDIR" && cat series $(series)) | sha256sum | cut -c1-16; }
# The toolchain is part of the key: a tree built by another rustc or bindgen cannot build
# modules with this one.
if [ "$FLAVOUR" = san ]; then cc_version=$("clang-$TERN_LLVM" --version | head -1); else cc_version=$(gcc --version | head -1); fi
tools="$(rustc --version) | $(bindgen --version) | $cc_version"
KEY="$(basename "$deb") cfg=$(cat "${FRAGMENTS[@]}" | sha256sum | cut -c1-16) patches=$(patch_key) script=$(sha256sum <"$0" | cut -c1-16) tools=$tools"
STAMP=kernel-$FLAVOUR

if stamp_ok "$STAMP" "$KEY" && [ -f "$KDIR/arch/x86/boot/bzImage" ]; then
	log "kernel: up to date ($(cat "$KDIR/include/config/kernel.release"))"
	exit 0
fi

# 1. Source tree, extracted once per source package.
if [ "$(cat "$KDIR/.tern-source" 2>/dev/null)" != "$(basename "$deb")" ]; then
	log "kernel: extracting $(basename "$deb")"
	x=$(dirname "$KDIR")/x
	rm -rf "$KDIR" "$x"
	mkdir -p "$x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards '*.tar.xz'
	tar -xf "$x"/usr/src/${TERN_KERNEL_PKG}.tar.xz -C "$x"
	mv "$x/$TERN_KERNEL_PKG" "$KDIR"
	rm -rf "$x"
	basename "$deb" >"$KDIR/.tern-source"
fi

# 2. Patches: the old and new series share a prefix (same names, same contents) that stays
# applied, so that the files it touches keep their times and the rebuild stays small; the
# rest of the series applied last time (kept in the tree) is reversed, and ours applied.
applied=$KDIR/.tern-patches
old=() new=()
[ -d "$applied" ] && mapfile -t old < <(grep -v '^\s*\(#\|$\)' "$applied/series")
mapfile -t new < <(series)
keep=0
while [ $keep -lt ${#old[@]} ] && [ $keep -lt ${#new[@]} ] && [ "${old[$keep]}" = "${new[$keep]}" ] &&
	cmp -s "$applied/${old[$keep]}" "$PATCHDIR/${new[$keep]}"; do
	keep=$((keep + 1))
done
# $applied always describes the tree, even when a patch fails half way through.
for ((i = ${#old[@]} - 1; i >= keep; i--)); do
	log "kernel: reverting ${old[$i]}"
	patch -d "$KDIR" -p1 -R -s -f <"$applied/${old[$i]}" || die "cannot revert ${old[$i]}: delete $KDIR and rerun"
	sed -i "/^${old[$i]}\$/d" "$applied/series"
	rm -f "$applied/${old[$i]}"
done
mkdir -p "$applied"
[ -f "$applied/series" ] || : >"$applied/series"
for ((i = keep; i < ${#new[@]}; i++)); do
	log "kernel: applying ${new[$i]}"
	patch -d "$KDIR" -p1 -s -f --no-backup-if-mismatch <"$PATCHDIR/${new[$i]}" ||
		die "patch ${new[$i]} does not apply to $(basename "$deb")"
	cp "$PATCHDIR/${new[$i]}" "$applied/"
	echo "${new[$i]}" >>"$applied/series"
done

# 3. Configuration.
cd "$KDIR"
kmake() { make -s -j"$JOBS" ${KLLVM[@]+"${KLLVM[@]}"} "$@"; }
log "kernel $FLAVOUR: configuring (allnoconfig + $(for f in "${FRAGMENTS[@]}"; do basename "$f"; done | paste -sd+))"
kmake rustavailable >/dev/null || die "Rust toolchain not usable for the kernel: run scripts/setup-rust.sh"
KCONFIG_CONFIG=.config.new scripts/kconfig/merge_config.sh -n -m /dev/null "${FRAGMENTS[@]}" >/dev/null
KCONFIG_ALLCONFIG=.config.new kmake allnoconfig >/dev/null
rm -f .config.new .config.new.old
bad=0
# Every option as the fragments set it: the last line for it (a later fragment overrides an
# earlier one, as merge_config.sh does).
wanted=$(cat "${FRAGMENTS[@]}" | awk '/^(# )?CONFIG_/ {
	o = $0; sub(/^# /, "", o); sub(/[= ].*/, "", o)
	if (!(o in last)) order[n++] = o
	last[o] = $0
} END { for (i = 0; i < n; i++) print last[order[i]] }')
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" .config && { log "config: $opt is set, wanted off"; bad=1; } ;;
	CONFIG_*) grep -qxF "$line" .config || { log "config: wanted $line, got '$(grep "^${line%%=*}=" .config || echo unset)'"; bad=1; } ;;
	"# CONFIG_"*) opt=${line#\# }; opt=${opt%% *}; grep -q "^$opt=" .config && { log "config: $opt is set, wanted off"; bad=1; } ;;
	esac
done <<<"$wanted"
[ $bad = 0 ] || die "the config fragments did not apply as written (see above)"

# 4. Build: bzImage, in-tree modules, and the Rust metadata out-of-tree modules link against.
log "kernel $FLAVOUR: building with $JOBS jobs (cold: about $([ "$FLAVOUR" = san ] && echo 15 || echo 7) minutes)"
kmake bzImage modules
[ -f rust/kernel.o ] && ls rust/*.rmeta >/dev/null 2>&1 || die "the build tree has no Rust metadata"
stamp_set "$STAMP" "$KEY"
log "kernel $FLAVOUR: built $(cat include/config/kernel.release)"
