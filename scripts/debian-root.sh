#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# A Debian 12 (bookworm) system for the package tests (docs/packaging.md), cached in
# $TERN_CACHE/debian-root/bookworm: debootstrap (minbase) from the host's own Debian mirror, with
# DKMS, udev, Debian's own kernel headers (a kernel that cannot host tern.ko) and the LLVM the
# sanitizer kernel is built with (DKMS builds the driver for it as the second kernel). Added on top:
# the Rust compiler the TERN kernels are built by, in /usr/local (where its standalone
# installer puts it, on root's PATH for DKMS), and two users: alice in the render group, bob
# not. Rebuilt only when this script or the toolchain changes. Prints the path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOT=$TERN_CACHE/debian-root/bookworm
PKGS=dkms,udev,kmod,procps,linux-headers-amd64,clang-$TERN_LLVM,lld-$TERN_LLVM,llvm-$TERN_LLVM
TOOLCHAIN=$(rustc --print sysroot)
KEY="v1 $PKGS $(rustc --version) script=$(sha256sum <"$0" | cut -c1-16)"
if stamp_ok debian-root "$KEY" && [ -x "$ROOT/usr/local/bin/rustc" ]; then
	echo "$ROOT"
	exit 0
fi
mirror=$(debian_mirror)
command -v debootstrap >/dev/null || die "debootstrap not found: run scripts/setup-host.sh"

log "debian root: debootstrap bookworm (minbase + $PKGS)"
rm -rf "$ROOT.new"
mkdir -p "$(dirname "$ROOT")"
as_root debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT.new" "$mirror" \
	>"$TERN_CACHE/debian-root.log" 2>&1 || { tail -20 "$TERN_CACHE/debian-root.log" >&2; die "debootstrap failed"; }

log "debian root: rustc $(rustc --version | cut -d' ' -f2) into /usr/local"
install -d "$ROOT.new/usr/local/bin" "$ROOT.new/usr/local/lib"
cp -a "$TOOLCHAIN/bin/rustc" "$ROOT.new/usr/local/bin/"
cp -a "$TOOLCHAIN"/lib/librustc_driver-*.so "$TOOLCHAIN"/lib/libLLVM* "$ROOT.new/usr/local/lib/"

chroot "$ROOT.new" /bin/sh -e -c '
	getent group render >/dev/null || groupadd --system render
	useradd --create-home --groups render alice
	useradd --create-home bob
	echo tern-guest >/etc/hostname
	apt-get clean
	rm -rf /var/lib/apt/lists/*
'
rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
stamp_set debian-root "$KEY"
log "debian root: $(du -sh "$ROOT" | cut -f1) in $ROOT"
echo "$ROOT"
