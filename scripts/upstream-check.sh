#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The checks of the upstream series (docs/upstream.md, "Checks"): generate it (`make upstream`),
# apply it with git am to the clean base, build every patch (incremental, CLIPPY=1, W=1 on the C
# files it touches; warnings in the files a patch touches fail it), build the driver built in, checkpatch --strict,
# rustfmtcheck, rustdoc, kernel-doc, the rst documentation, get_maintainer, and boot the kernel
# built from the series with the in-tree module to run the guest test suite on it.
# One result per check and per patch; ends with "upstream: N passed, N failed".
#
#   upstream-check.sh              all checks
#   upstream-check.sh --build-one  (internal: one per-patch build, at the commit checked out in
#                                  $TERN_BUILD_TREE, its TAP line appended to $TERN_BUILD_TAP)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
UP=$UPSTREAM_DIR OUT=$UPSTREAM_OUT
# --build-one runs in the tree it is given (one of the two the per-patch builds use).
TREE=${TERN_BUILD_TREE:-$UPSTREAM_TREE}
# The second tree of the per-patch builds: a copy of the first, objects included.
TREE2=$UP/linux-b
RES=$UP/check
JOBS=${JOBS:-$(nproc)}
DOCUTILS_VERSION=0.21.2 PLY_VERSION=3.11 GITPYTHON_VERSION=3.1.45
# The tree is built with CLIPPY=1; W=1 applies to the C files a patch touches (a W=1 build of the
# whole tree would rebuild every C file of it once, for warnings in code the series does not touch).
kmake() { make -C "$TREE" -s -j"$JOBS" CLIPPY=1 "$@"; }
g() { git -C "$TREE" "$@"; }
# to LOG CMD...: runs CMD with its output in LOG (so that `step` still prints its time).
to() {
	local log=$1
	shift
	"$@" >"$log" 2>&1
}

# warnings_in LOG FILES...: prints the compiler diagnostics of LOG located in one of FILES.
warnings_in() {
	local log=$1
	shift
	python3 - "$log" "$@" <<'EOF'
import re, sys
log, files = sys.argv[1], set(sys.argv[2:])
text = open(log, errors="replace").read().splitlines()
loc = re.compile(r"(?:^|\s|-->\s*)((?:[\w.+-]+/)*[\w.+-]+\.(?:c|h|rs)):\d+")
# A diagnostic starts at a "warning"/"error" line; rustc names its place on a later "-->" line.
for i, line in enumerate(text):
    if not re.search(r"(^|: )(warning|error)(\[|:)", line):
        continue
    where = [m.group(1) for l in text[i:i + 4] for m in loc.finditer(l)]
    if any(w.lstrip("./") in files for w in where):
        print("\n".join(text[i:i + 6]))
EOF
}

if [ "${1:-}" = --build-one ]; then
	TAP=${TERN_BUILD_TAP:?}
	# Runs in $TREE at one commit of the series; records one TAP line, never fails.
	# A tree built before with the same configuration is not built again.
	subject=$(g log -1 --format=%s)
	# The driver is a module from the patch that adds its Kconfig entry on (before it, the
	# configuration does not know the symbol).
	if [ -f "$TREE/drivers/accel/tern/Kconfig" ]; then
		(cd "$TREE" && scripts/config --module DRM_ACCEL_TERN)
	fi
	make -C "$TREE" -s olddefconfig
	key=$(g rev-parse 'HEAD^{tree}')-$(sha256sum <"$TREE/.config" | cut -c1-16)
	if [ -f "$RES/built/$key" ]; then
		echo "ok - builds: $subject ($(cat "$RES/built/$key"), this tree and configuration)" >>"$TAP"
		exit 0
	fi
	log=$RES/build-$(g log -1 --format=%h).log
	t0=$(date +%s)
	mapfile -t files < <(g diff --name-only HEAD~1 HEAD)
	# rust/helpers/*.c are #included by rust/helpers/helpers.c: that is their object.
	mapfile -t objs < <(printf '%s\n' "${files[@]}" | sed -n 's|^rust/helpers/.*\.c$|rust/helpers/helpers.c|; s/\.c$/.o/p' | sort -u)
	if ! { kmake vmlinux modules && { [ ${#objs[@]} = 0 ] || kmake W=1 "${objs[@]}"; }; } >"$log" 2>&1; then
		echo "not ok - builds: $subject # the build failed, see $log" >>"$TAP"
		tail -20 "$log" | sed 's/^/    /' >&2
		exit 0
	fi
	w=$(warnings_in "$log" "${files[@]}")
	if [ -n "$w" ]; then
		echo "not ok - builds: $subject # warnings in the files it touches" >>"$TAP"
		echo "$w" | sed 's/^/    /' >&2
	else
		mkdir -p "$RES/built"
		echo "built in $(($(date +%s) - t0)) s, CLIPPY=1 and W=1 on its ${#objs[@]} C files clean" >"$RES/built/$key"
		echo "ok - builds: $subject ($(cat "$RES/built/$key"))" >>"$TAP"
	fi
	exit 0
fi

T0=$(date +%s)
pass=0 fail=0
result() { # result RC DESCRIPTION
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi
}
finish() {
	log "upstream check: $(($(date +%s) - T0)) s in all"
	echo "upstream: $pass passed, $fail failed"
	[ $fail = 0 ]
	exit
}

if ! step upstream-series bash scripts/upstream.sh; then
	result 1 "make upstream generates the series"
	finish
fi
result 0 "make upstream generates the series"
mkdir -p "$RES"
patches=()
for p in "$OUT"/*.patch; do case $(basename "$p") in 0000-*) ;; *) patches+=("$p") ;; esac; done

# 1. git am on a clean tree of the base, giving the commits make upstream made.
g checkout -q -f -B tern-am tern-base && g clean -fdq
if g am -q "${patches[@]}" >"$RES/am.log" 2>&1 && g diff --quiet tern-upstream tern-am; then
	result 0 "git am: the ${#patches[@]} patches apply to a clean tern-base, giving the generated tree"
else
	g am --abort >/dev/null 2>&1
	cat "$RES/am.log"
	result 1 "git am: the ${#patches[@]} patches apply to a clean tern-base"
	finish
fi

# The configuration of every build below: the dev kernel's with the test facilities the guest
# suite needs (kernel/test.config, which the dev kernel's has too: merging it changes nothing
# unless the copy is older than the fragment).
(cd "$TREE" && scripts/kconfig/merge_config.sh -m -Q .config "$TERN_ROOT/kernel/test.config" >/dev/null &&
	make -s olddefconfig)
missing=$(grep -E '^(CONFIG_|# CONFIG_.* is not set$)' kernel/test.config | while read -r opt; do
	grep -qxF "$opt" "$TREE/.config" || echo "$opt"
done)
[ -z "$missing" ] || echo "    not in the configuration: $missing"
result $([ -z "$missing" ] && echo 0 || echo 1) "the tree's configuration has kernel/test.config"

# 2. Every patch builds, incrementally: the commits of tern-am in order. The first is built in
#    the tree with every job (in a fresh copy of the dev kernel's tree that build is most of
#    the kernel); the others alternately in the tree and in a copy of it ($TREE2, objects
#    included, made after that first build), the two at once with one job each: most of a
#    patch's build is the kernel crate, which one rustc compiles on one core, so one tree with
#    two jobs would leave a core idle. The driver is a module here.
rm -f "$RES"/build*.tap "$RES"/build-*.log
mapfile -t commits < <(g rev-list --reverse tern-base..tern-am)
# build_at I TREE JOBS: the build of commit I in TREE, its TAP line in its own file.
build_at() {
	git -C "$2" checkout -q -f --detach "${commits[$1]}" && git -C "$2" clean -fdq &&
		TERN_BUILD_TREE=$2 TERN_BUILD_TAP=$RES/build-$1.tap JOBS=$3 \
			bash "$TERN_ROOT/scripts/upstream-check.sh" --build-one
}
# builds K TREE: the builds of commits K, K+2, ... in TREE, one job each.
builds() {
	local i
	for ((i = $1; i < ${#commits[@]}; i += 2)); do build_at "$i" "$2" 1; done
}
per_patch() {
	build_at 0 "$TREE" "$JOBS" || return
	if [ "$(cat "$TREE2/.tern-base" 2>/dev/null)" != "$(cat "$TREE/.tern-base")" ] || [ ! -d "$TREE2/.git" ]; then
		rm -rf "$TREE2"
		step second-tree cp -a "$TREE" "$TREE2" || return
		relocate_build_tree "$TREE" "$TREE2" "$TREE2"
	fi
	git -C "$TREE2" fetch -q "$TREE" tern-am && cp "$TREE/.config" "$TREE2/.config" || return
	builds 2 "$TREE" &
	local a=$!
	builds 1 "$TREE2"
	wait $a
}
step per-patch-builds per_patch
for ((i = 0; i < ${#commits[@]}; i++)); do cat "$RES/build-$i.tap" 2>/dev/null; done >"$RES/build.tap"
while IFS= read -r line; do
	case $line in ok*) result 0 "${line#ok - }" ;; *) result 1 "${line#not ok - }" ;; esac
done <"$RES/build.tap"
[ "$(wc -l <"$RES/build.tap")" = "${#patches[@]}" ] ||
	result 1 "every patch was built ($(wc -l <"$RES/build.tap") of ${#patches[@]} ran)"
g checkout -q -f tern-am

# 3. Built in: the driver as part of vmlinux at the last patch, then a module again. Switching
#    between =m and =y changes the driver's compiler flags, so it is compiled again each time.
drv_files=$(g ls-files drivers/accel/tern)
# Whether the configuration has the driver built in and vmlinux's archive of it holds it.
builtin() {
	grep -qx 'CONFIG_DRM_ACCEL_TERN=y' "$TREE/.config" &&
		ar t "$TREE/drivers/accel/tern/built-in.a" 2>/dev/null | grep -q 'tern\.o$'
}
(cd "$TREE" && scripts/config --enable DRM_ACCEL_TERN && make -s olddefconfig)
if step built-in to "$RES/builtin.log" kmake vmlinux && builtin &&
	[ -z "$(warnings_in "$RES/builtin.log" $drv_files)" ]; then
	result 0 "builds with DRM_ACCEL_TERN=y (CLIPPY=1 clean)"
else
	builtin || echo "    DRM_ACCEL_TERN is not built in: $(grep DRM_ACCEL_TERN "$TREE/.config")"
	tail -30 "$RES/builtin.log"
	result 1 "builds with DRM_ACCEL_TERN=y"
fi
(cd "$TREE" && scripts/config --module DRM_ACCEL_TERN && make -s olddefconfig)
step module-again to "$RES/module.log" kmake bzImage modules
module_rc=$?
if ! grep -qx 'CONFIG_DRM_ACCEL_TERN=m' "$TREE/.config" || [ ! -f "$TREE/drivers/accel/tern/tern.ko" ]; then
	echo "    DRM_ACCEL_TERN is not a module again, or tern.ko is missing"
	module_rc=1
fi
result $module_rc "builds again with DRM_ACCEL_TERN=m (bzImage and modules) for the guest run"

# 4. checkpatch --strict on every patch, with the exceptions and their reasons in
#    upstream/checkpatch-ignore (TYPE PATCHES REASON). spdxcheck, which checkpatch runs, needs
#    ply and GitPython: they are in the same venv as docutils.
venv=$UP/venv
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import docutils, ply, git' 2>/dev/null || {
	python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
		"docutils==$DOCUTILS_VERSION" "ply==$PLY_VERSION" "GitPython==$GITPYTHON_VERSION"
} >&2
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	name=${name#[0-9][0-9][0-9][0-9]-}
	ignore=$(grep -v '^\s*\(#\|$\)' upstream/checkpatch-ignore | while read -r type pat _; do
		# shellcheck disable=SC2254 # the pattern is meant to match
		case $name in $pat) echo "$type" ;; esac
	done | paste -sd,)
	out=$(cd "$TREE" && PATH=$venv/bin:$PATH scripts/checkpatch.pl --strict --color=never \
		${ignore:+--ignore "$ignore"} "$p" 2>&1)
	total=$(echo "$out" | grep -E '^total: ' | tail -1)
	if echo "$total" | grep -q '^total: 0 errors, 0 warnings, 0 checks'; then
		result 0 "checkpatch --strict: $(basename "$p"): ${total#total: }${ignore:+ (ignoring $ignore)}"
	else
		echo "$out" | grep -E -A4 '^(ERROR|WARNING|CHECK):' | sed 's/^/    /'
		result 1 "checkpatch --strict: $(basename "$p"): ${total#total: }"
	fi
done

# 5. rustfmt, rustdoc and kernel-doc on the tree at the last patch.
step rustfmtcheck to "$RES/rustfmt.log" make -C "$TREE" -s rustfmtcheck
rc=$?
[ $rc = 0 ] || head -40 "$RES/rustfmt.log"
result $rc "make rustfmtcheck"
if step rustdoc to "$RES/rustdoc.log" make -C "$TREE" -s -j"$JOBS" rustdoc && ! grep -q 'warning' "$RES/rustdoc.log"; then
	result 0 "make rustdoc without warnings"
else
	grep -A6 'warning\|error' "$RES/rustdoc.log" | head -40
	result 1 "make rustdoc without warnings"
fi
# The driver was compiled again by both builds above (built in, then as a module).
w=$(warnings_in "$RES/module.log" $drv_files)
[ -z "$w" ] && [ "$module_rc" = 0 ]
result $? "make CLIPPY=1: no warning in drivers/accel/tern at the last patch"
# Files the series adds must be clean; files it changes must have no warning the base has not
# (several base files have warnings of their own, such as missing Return: sections).
mapfile -t kdoc < <(g diff --name-only tern-base tern-am -- '*.c' '*.h')
kdoc_warnings() { # REV FILE: kernel-doc's warnings of FILE at REV, without places
	local d=$RES/kdoc/$1
	mkdir -p "$d/$(dirname "$2")"
	g show "$1:$2" >"$d/$2" 2>/dev/null || { : >"$d/$2"; return; }
	(cd "$TREE" && scripts/kernel-doc -Wall -none "$d/$2" 2>&1) | sed -E 's/^(Warning|warning): [^ ]+ /\1: /' | sort
}
bad=0
for f in "${kdoc[@]}"; do
	new=$(comm -13 <(kdoc_warnings tern-base "$f") <(kdoc_warnings tern-am "$f"))
	[ -z "$new" ] || { echo "$new" | sed "s|^|    $f: |"; bad=1; }
done
rm -rf "$RES/kdoc"
result $bad "kernel-doc -Wall -none: no new warning in ${kdoc[*]}"

# 6. The documentation parses: docutils, with the Sphinx directives the kernel uses stubbed
#    (kernel-doc runs scripts/kernel-doc -rst and parses its output in place).
mapfile -t rst < <(g diff --name-only tern-base tern-am -- '*.rst')
out=$(cd "$TREE" && "$venv/bin/python" "$TERN_ROOT/scripts/rst-check.py" "${rst[@]}" 2>&1)
rc=$?
[ -z "$out" ] || echo "$out" | sed 's/^/    /'
result $rc "the documentation parses (docutils $DOCUTILS_VERSION): ${rst[*]}"

# 7. get_maintainer.pl runs on every patch; the driver's patches reach its maintainer.
me="$(git config user.name) <$(git config user.email)>"
bad=0
for p in "${patches[@]}"; do
	out=$(cd "$TREE" && scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats "$p" 2>&1) || bad=1
	case $(basename "$p") in *accel-tern*) grep -qF "$me" <<<"$out" || { echo "    $(basename "$p"): $me not listed"; bad=1; } ;; esac
	echo "$out" >"$RES/get_maintainer-$(basename "$p" .patch).txt"
done
result $bad "get_maintainer.pl runs on the ${#patches[@]} patches; the accel/tern ones list the driver's maintainer"

# 8. The kernel built from the series boots with the device and passes the guest suite with
#    the in-tree module.
#    The run needs the test binaries, the device model and the firmware image.
if step userspace cargo build --release --workspace --quiet && step firmware make -s firmware; then
	# The guest's /lib/modules is the tree's, which holds tern.ko: udev would load it by its
	# modalias before the suite loads it (insmod, which the blacklist does not stop).
	KIMAGE=$TREE/arch/x86/boot/bzImage KO=$TREE/drivers/accel/tern/tern.ko \
		TERN_VM_APPEND="modprobe.blacklist=tern kmemleak=on" \
		step in-tree-guest to "$RES/guest.log" bash scripts/guest-test.sh
	rc=$?
else
	echo "the userspace or the firmware does not build" >"$RES/guest.log"
	rc=1
fi
line=$(grep -E '^guest: [0-9]+ passed, [0-9]+ failed' "$RES/guest.log" | tail -1)
[ $rc = 0 ] && [ -n "$line" ] || grep -E 'not ok|error' "$RES/guest.log" | head -30
result $([ $rc = 0 ] && [ -n "$line" ] && echo 0 || echo 1) "in-tree kernel and module pass the guest suite (${line:-no summary})"
finish
