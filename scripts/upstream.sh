#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# `make upstream`: the patch series that adds TERN to the dev kernel's source as drivers/accel/tern,
# generated from kernel/patches, src/, uapi/ and upstream/ (docs/upstream.md), written with
# `git format-patch` (cover letter, base-commit) into $TERN_UPSTREAM_OUT (default
# $TERN_CACHE/upstream/series).
#
# The series is built as commits in $TERN_CACHE/upstream/linux: a git repository whose first
# commit is the dev kernel's source as Debian ships it (tag tern-base), made once from a copy of
# the dev kernel's build tree so that builds in it are incremental. Branch tern-upstream holds
# the series. Authorship and Signed-off-by come from the user's git identity.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
UP=$UPSTREAM_DIR TREE=$UPSTREAM_TREE OUT=$UPSTREAM_OUT
mkdir -p "$UP"
PATCHDIR=$TERN_ROOT/kernel/patches
UPDIR=$TERN_ROOT/upstream

name=$(git config user.name || true)
email=$(git config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
	die "git config user.name and user.email are not set: the series is authored and signed off (DCO) with them"
IDENT="$name <$email>"
# Where the open userspace, the firmware's source and the device model live.
REPO=$(sed -n 's/^repository *= *"\(.*\)"/\1/p' Cargo.toml)

bash scripts/setup.sh dev >&2
cargo build -q --release -p tern-upstream
GEN=$TERN_ROOT/target/release/tern-upstream
$GEN check >/dev/null

list() { grep -v '^\s*\(#\|$\)' "$1"; }
g() { git -C "$TREE" "$@"; }

# 1. The base: the source package's tree, imported once as one commit.
src_id=$(cat "$KBUILD_DIR/.tern-source")
if [ "$(cat "$TREE/.tern-base" 2>/dev/null)" != "$src_id" ] || ! g rev-parse -q --verify tern-base >/dev/null; then
	log "upstream: importing $src_id as the base tree"
	rm -rf "$TREE" "$TREE.new"
	cp -a --reflink=auto "$KBUILD_DIR" "$TREE.new"
	relocate_build_tree "$KBUILD_DIR" "$TREE" "$TREE.new"
	for p in $(list "$TREE.new/.tern-patches/series" | tac); do
		patch -d "$TREE.new" -p1 -R -s -f <"$TREE.new/.tern-patches/$p" || die "cannot revert $p in the copy"
	done
	rm -rf "$TREE.new/.tern-patches"
	# Debian's source ignores everything at the top level (its packaging keeps only debian/ in
	# git); the import takes the kernel's own .gitignore.
	python3 - "$TREE.new/.gitignore" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.find("\n#\n# Debian packaging:")
if i >= 0:
    open(p, "w").write(s[: i + 1])
EOF
	git -C "$TREE.new" init -q -b master
	printf '/.tern-*\n' >>"$TREE.new/.git/info/exclude"
	git -C "$TREE.new" add -A
	version=$(make -s -C "$TREE.new" kernelversion)
	# A fixed date, so that the same source gives the same base commit.
	date="@$(stat -c %Y "$TREE.new/Makefile") +0000"
	GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date git -C "$TREE.new" commit -q \
		-m "Linux $version" -m "The source of Debian's ${src_id%%_all.deb}, imported as one commit, without the Debian lines of .gitignore."
	git -C "$TREE.new" tag -f tern-base >/dev/null
	echo "$src_id" >"$TREE.new/.tern-base"
	mv "$TREE.new" "$TREE"
fi

g checkout -q -f -B tern-upstream tern-base
g clean -fdq

# 2. The enabling patches, without the out-of-tree-only ones, authored and signed off by the user.
skip=$(list "$UPDIR/out-of-tree-only")
for p in $(list "$PATCHDIR/series"); do
	grep -qxF "$p" <<<"$skip" && continue
	# The From: header (and its folded continuation lines) becomes the user's identity.
	awk -v id="$IDENT" 'done != 1 && /^From: / {print "From: " id; skip = 1; done = 1; next}
		skip && /^[ \t]/ {next} {skip = 0; print}' "$PATCHDIR/$p" >"$UP/am.patch"
	if ! g am -q --committer-date-is-author-date "$UP/am.patch" 2>/dev/null; then
		# Written against a tree without a later-reordered patch: patch(1) applies it with an
		# offset, git am only with less context. The series itself has exact context.
		g am --abort
		g am -q -C1 --committer-date-is-author-date "$UP/am.patch" ||
			{ g am --abort || true; die "$p does not apply with git am"; }
		log "upstream: $p needed git am -C1 (its context predates an earlier patch)"
	fi
	args=()
	while read -r f trailer; do
		[ "$f" = "$p" ] && args+=(--trailer "$trailer")
	done < <(list "$UPDIR/trailers")
	args+=(--trailer "Signed-off-by: $IDENT")
	g log -1 --format=%B | git interpret-trailers --if-exists addIfDifferent "${args[@]}" >"$UP/msg"
	# The trailers in kernel order: Fixes:, then Cc:, then the sign-off.
	awk '/^Fixes: /{f = f $0 "\n"; next} /^Cc: /{c = c $0 "\n"; next}
		/^Signed-off-by: /{s = s $0 "\n"; next} {print} END {printf "%s%s%s", f, c, s}' "$UP/msg" >"$UP/msg.sorted"
	GIT_COMMITTER_DATE=$(g log -1 --format=%aD) g commit -q --amend -F "$UP/msg.sorted"
done
rm -f "$UP/am.patch" "$UP/msg" "$UP/msg.sorted"

# commit_step MSGFILE: commits the tree's changes with the message in MSGFILE and a sign-off.
n=0
commit_step() {
	n=$((n + 1))
	g add -A
	# One minute per patch after the last enabling one: stable hashes for the same input.
	local date
	date="@$(($(g log -1 --format=%at) + 60)) +0000"
	{ cat "$1"; echo; echo "Signed-off-by: $IDENT"; } |
		GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -F -
}

# 3. The uAPI header, where the kernel's uapi crate sees it.
cp uapi/drm/tern_accel.h "$TREE/include/uapi/drm/tern_accel.h"
sed -i 's|^#include <uapi/drm/panthor_drm.h>$|&\n#include <uapi/drm/tern_accel.h>|' "$TREE/rust/uapi/uapi_helper.h"
grep -q tern_accel.h "$TREE/rust/uapi/uapi_helper.h" || die "rust/uapi/uapi_helper.h: no place for the TERN header"
commit_step "$UPDIR/msg/uapi.txt"

# 4. The driver, one step at a time; the first step also hooks it into drivers/accel.
first=1
for s in $($GEN list); do
	rm -rf "$TREE/drivers/accel/tern"
	$GEN stage "$s" "$TREE/drivers/accel/tern" --tree in
	# Removing a step's lines can leave a list shorter than rustfmt writes it: format the step
	# the way the tree does (the only change besides the markers').
	rustfmt --edition 2021 --config-path "$TREE/.rustfmt.toml" "$TREE"/drivers/accel/tern/*.rs
	# The Kconfig entry selects what the step uses (it has the markers of the sources).
	$GEN filter "$s" "$UPDIR/kernel/drivers/accel/tern/Kconfig" >"$TREE/drivers/accel/tern/Kconfig"
	cp "$UPDIR/kernel/drivers/accel/tern/Makefile" "$TREE/drivers/accel/tern/"
	if [ $first = 1 ]; then
		first=0
		sed -i 's|^source "drivers/accel/rocket/Kconfig"$|&\nsource "drivers/accel/tern/Kconfig"|' "$TREE/drivers/accel/Kconfig"
		sed -i 's|^obj-$(CONFIG_DRM_ACCEL_ROCKET).*$|&\nobj-$(CONFIG_DRM_ACCEL_TERN)\t\t+= tern/|' "$TREE/drivers/accel/Makefile"
		sed -i 's|^   rocket/index$|&\n   tern/index|' "$TREE/Documentation/accel/index.rst"
		mkdir -p "$TREE/Documentation/accel/tern"
		for f in "$UPDIR/kernel/Documentation/accel/tern/"*.rst; do
			sed "s|@REPO@|$REPO|" "$f" >"$TREE/Documentation/accel/tern/$(basename "$f")"
		done
		# MAINTAINERS, in its alphabetical place.
		sed "s|@IDENT@|$IDENT|; s|@REPO@|$REPO|" "$UPDIR/kernel/MAINTAINERS" >"$UP/maint"
		sed -i "/^DRM COMPUTE ACCELERATORS DRIVERS AND FRAMEWORK$/{
			r $UP/maint
			N
		}" "$TREE/MAINTAINERS"
		rm -f "$UP/maint"
		for f in drivers/accel/Kconfig drivers/accel/Makefile Documentation/accel/index.rst MAINTAINERS; do
			g diff --quiet -- "$f" && die "$f: the TERN entry found no place"
		done
	fi
	commit_step "$UPDIR/msg/$s.txt"
done

# 5. The series.
rm -rf "$OUT"
mkdir -p "$OUT"
count=$(g rev-list --count tern-base..tern-upstream)
g format-patch -q --cover-letter --base=tern-base --thread=shallow -o "$OUT" \
	--subject-prefix=PATCH tern-base..tern-upstream
base=$(g rev-parse tern-base)
shortlog=$(g shortlog tern-base..tern-upstream | sed 's/^/  /')
stat=$(g diff --stat=72 tern-base tern-upstream | tail -1)
cover=$(ls "$OUT"/0000-*.patch)
basedesc="$(g log -1 --format=%s tern-base), as Debian's ${src_id%%_all.deb} ships it (base-commit below is that source imported as one commit)"
python3 - "$cover" "$UPDIR/cover-letter.txt" "$REPO" "$basedesc" <<'EOF'
import sys
path, body, repo, base = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
lines = [l for l in body.splitlines() if not l.startswith("#")]
subject, text = lines[0], "\n".join(lines[1:]).strip("\n")
text = text.replace("@REPO@", repo).replace("@BASE@", base)
s = open(path).read()
s = s.replace("*** SUBJECT HERE ***", subject).replace("*** BLURB HERE ***", text)
open(path, "w").write(s)
EOF
log "upstream: $count patches on $(g log -1 --format=%s tern-base) ($base) in $OUT"
g log --reverse --format='  %s' tern-base..tern-upstream >&2
