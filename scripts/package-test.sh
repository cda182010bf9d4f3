#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The package tests (docs/packaging.md): the Debian packages of scripts/debs.sh, installed and
# used in a copy of the cached Debian 12 system (scripts/debian-root.sh) booted under
# virtme-ng with the TERN device attached, in two boots:
#   1. on the dev kernel's image: dpkg installs linux-image, linux-headers and the TERN
#      packages; DKMS builds tern.ko at install; Debian's own kernel is refused in one line; a
#      second kernel (the sanitizer kernel's packages) is installed and DKMS builds for it
#   2. on the kernel the package installed: tern.ko autoloads, /dev/accel/accel0 is
#      render:0660, alice (in render) runs tern info and a job, bob (not) is refused; the
#      packages are removed and the module, the rule and the DKMS tree are gone
# Ends with "packages: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$TERN_ROOT/Cargo.toml" | head -1)
step debs bash "$TERN_ROOT/scripts/debs.sh" || { echo "packages: 0 passed, 1 failed"; exit 1; }
t0=$(date +%s)
root=$(bash "$TERN_ROOT/scripts/debian-root.sh") || { echo "packages: 0 passed, 1 failed"; exit 1; }
log "packages: Debian root $(du -sh "$root" | cut -f1) ($(($(date +%s) - t0)) s, cached)"
krel=$(cat "$KBUILD_DIR/include/config/kernel.release")
# The second kernel, installed after the driver: the sanitizer kernel's packages.
krel2=$(cat "$KSAN_DIR/include/config/kernel.release")

# A fresh copy for every run: the guest writes to its root.
work=$TERN_CACHE/debian-run
copy=$work/root
rm -rf "$work"
mkdir -p "$work"
step root-copy cp -a "$root" "$copy" || { echo "packages: 0 passed, 1 failed"; exit 1; }
run=$copy/tern-run
mkdir -p "$run/debs"
mkdir -p "$run/debs/second"
cp "$TERN_CACHE"/debs/kernel/*.deb "$TERN_CACHE"/debs/tern/*.deb "$run/debs/"
cp "$TERN_CACHE"/debs/kernel-san/*.deb "$run/debs/second/"
cp "$TERN_ROOT/tests/packages/guest.sh" "$run/"

boot() { # NAME KIMAGE GUEST-ARGS...
	local name=$1 kimage=$2
	shift 2
	KIMAGE=$kimage TERN_VM_ROOT=$copy TERN_VM_MEM=1G step "packages-$name" bash "$TERN_ROOT/scripts/vm.sh" \
		--rundir "$run" --timeout 1500 -- "TERN_VERSION=$VERSION TERN_SECOND_KREL=$krel2 bash /tern-run/guest.sh $* /tern-run/$name.tap" \
		>"$work/$name.log" 2>&1
	local rc=$?
	[ $rc = 0 ] || log "packages: boot '$name' exited $rc (log: $work/$name.log)"
	grep -v '^ok ' "$run/$name.tap" 2>/dev/null | grep -v '^1\.\.' | sed "s/^/[$name] /"
}
boot install "$KBUILD_DIR/arch/x86/boot/bzImage" install /tern-run/debs
boot boot "$copy/boot/vmlinuz-$krel" boot

files=()
for t in install boot; do
	[ -f "$run/$t.tap" ] || : >"$run/$t.tap"
	files+=("$run/$t.tap")
done
counts=$(bash "$TERN_ROOT/scripts/tap-count.sh" "${files[@]}")
echo "$counts" | sed '$d'
read -r p f _ < <(echo "$counts" | tail -1)
cat "${files[@]}" | grep -E '^(not )?ok ' | sed 's/^/  /'
echo "packages: $p passed, $f failed"
[ "$f" = 0 ]
