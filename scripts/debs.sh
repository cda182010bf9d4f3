#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Debian packages, into $TERN_CACHE/debs (docs/packaging.md):
#   kernel/      linux-image-RELEASE and linux-headers-RELEASE of the dev kernel (make
#                bindeb-pkg; the headers carry the Rust metadata, kernel/patches/0025)
#   kernel-san/  the same of the sanitizer kernel (Clang), the second kernel of the tests
#   tern/        tern-dkms, tern-firmware, tern-tools (packaging/debian), from the working tree
# Each set is rebuilt only when its inputs change. Prints the packages and their sizes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT=$TERN_CACHE/debs
JOBS=${JOBS:-$(nproc)}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$TERN_ROOT/Cargo.toml" | head -1)
[ -n "$VERSION" ] || die "no workspace version in Cargo.toml"

# 1. The kernel packages, from the build trees of the two kernels (build-kernel.sh): the dev
#    kernel, and the sanitizer kernel (Clang) as a second kernel to install beside it.
# kernel_debs FLAVOUR DIR DEST [MAKE-ARGS...]
kernel_debs() {
	local flavour=$1 kdir=$2 dest=$3 krel key
	shift 3
	bash "$TERN_ROOT/scripts/build-kernel.sh" "$flavour"
	krel=$(cat "$kdir/include/config/kernel.release")
	key="$(cat "$TERN_CACHE/stamps/kernel-$flavour") debs=$(sha256sum <"$0" | cut -c1-16)"
	if stamp_ok "debs-kernel-$flavour" "$key" && ls "$dest/linux-headers-${krel}_"*.deb >/dev/null 2>&1; then
		return
	fi
	log "debs: make bindeb-pkg for $krel"
	rm -f "$(dirname "$kdir")"/*.deb "$(dirname "$kdir")"/*.buildinfo "$(dirname "$kdir")"/*.changes
	# The Debian revision counts nothing: the packages are rebuilt from the one tree.
	# zstd, not xz: the package tests unpack them in a TCG guest, where xz takes minutes.
	make -s -C "$kdir" -j"$JOBS" "$@" bindeb-pkg KDEB_PKGVERSION="${krel%%-*}-1tern" KDEB_COMPRESS=zstd \
		>"$TERN_CACHE/debs-kernel-$flavour.log" 2>&1 ||
		{ tail -20 "$TERN_CACHE/debs-kernel-$flavour.log" >&2; die "make bindeb-pkg failed ($flavour)"; }
	rm -rf "$dest"
	mkdir -p "$dest"
	mv "$(dirname "$kdir")"/linux-image-"$krel"_*.deb "$(dirname "$kdir")"/linux-headers-"$krel"_*.deb "$dest/"
	rm -f "$(dirname "$kdir")"/*.deb "$(dirname "$kdir")"/*.buildinfo "$(dirname "$kdir")"/*.changes
	stamp_set "debs-kernel-$flavour" "$key"
}
kernel_debs dev "$KBUILD_DIR" "$OUT/kernel"
kernel_debs san "$KSAN_DIR" "$OUT/kernel-san" "LLVM=-$TERN_LLVM"

# 2. The TERN packages, from the tracked files of the working tree.
cd "$TERN_ROOT"
tkey="$(git ls-files -z -co --exclude-standard | xargs -0 sha256sum | sha256sum | cut -c1-16) $(rustc --version)"
if ! stamp_ok debs-tern "$tkey" || ! ls "$OUT/tern/tern-dkms_${VERSION}_all.deb" >/dev/null 2>&1; then
	log "debs: tern-dkms, tern-firmware, tern-tools $VERSION"
	stage=$TERN_CACHE/debs-build/tern-$VERSION
	rm -rf "$(dirname "$stage")"
	mkdir -p "$stage"
	git ls-files -z -co --exclude-standard | tar -c --null -T - | tar -x -C "$stage"
	cp -r packaging/debian "$stage/debian"
	cat >"$stage/debian/changelog" <<CHANGES
tern ($VERSION) unstable; urgency=medium

  * Built from $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with local changes').

 -- TERN maintainers <tern@localhost>  $(date -R)
CHANGES
	cargo build -q --release -p tern-cli -p tern-fw
	mkdir -p "$stage/prebuilt"
	cp target/release/tern "$stage/prebuilt/"
	target/release/tern-fw build firmware/tern-fw.src -o "$stage/prebuilt/tern-fw-v1.bin" >/dev/null
	# The uAPI bindings, generated once here (the kernel's bindgen), shipped in tern-dkms.
	make -s -C "$stage" KDIR="$KBUILD_DIR" modules >/dev/null
	mv "$stage/generated/tern_uapi.rs" "$stage/generated/tern_uapi.rs_shipped"
	make -s -C "$stage" KDIR="$KBUILD_DIR" module-clean >/dev/null
	(cd "$stage" && dpkg-buildpackage -b -uc -us >"$TERN_CACHE/debs-tern.log" 2>&1) ||
		{ tail -20 "$TERN_CACHE/debs-tern.log" >&2; die "dpkg-buildpackage failed"; }
	rm -rf "$OUT/tern"
	mkdir -p "$OUT/tern"
	mv "$(dirname "$stage")"/*.deb "$OUT/tern/"
	rm -rf "$(dirname "$stage")"
	stamp_set debs-tern "$tkey"
fi
for d in "$OUT"/kernel/*.deb "$OUT"/kernel-san/*.deb "$OUT"/tern/*.deb; do
	log "debs: $(basename "$d") $(du -k "$d" | cut -f1) KiB"
done
