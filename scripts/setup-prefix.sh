#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Newer tools that Debian 12 lacks (QEMU >= 10.1 with the vfio-user client, virtiofsd) and the
# dev kernel's source package, fetched as Debian binary packages through a private apt
# configuration and unpacked into $TERN_CACHE/prefix. Nothing enters the host's dpkg database;
# the binaries run through the prefix's own dynamic loader (see the wrappers in $TERN_CACHE/bin).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PREFIX_PKGS=(qemu-system-x86 virtiofsd)
MIRROR=$(debian_mirror)
KEY="prefix-v4 ${PREFIX_PKGS[*]} $TERN_QEMU_VERSION $MIRROR"
APTDIR=$TERN_CACHE/apt

apt_private() {
	mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial,etc/preferences.d}
	: >"$APTDIR/status"
	cat >"$APTDIR/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] $MIRROR trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] $MIRROR trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] $MIRROR sid main
SRC
	# trixie wins; backports and sid only when asked for by name.
	cat >"$APTDIR/etc/preferences.d/pin" <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 900

Package: *
Pin: release n=trixie-backports
Pin-Priority: 400

Package: *
Pin: release n=sid
Pin-Priority: 100
PIN
	cat >"$APTDIR/apt.conf" <<CONF
Dir::State "$APTDIR";
Dir::State::lists "$APTDIR/lists";
Dir::State::status "$APTDIR/status";
Dir::Cache "$APTDIR/cache";
Dir::Etc::sourcelist "$APTDIR/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferences "$APTDIR/etc/preferences";
Dir::Etc::preferencesparts "$APTDIR/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
	export APT_CONFIG=$APTDIR/apt.conf
}

# offered PKG: the versions of PKG the private package lists offer, on one line.
offered() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); printf "%s ", $2}'; }

# Linux source package, at the pinned version: a plain download (arch all, only a tarball).
fetch_kernel_source() {
	local dest=$TERN_CACHE/kernel/src file
	file=${TERN_KERNEL_PKG}_${TERN_KERNEL_VERSION//:/%3a}_all.deb
	[ -f "$dest/$file" ] && return 0
	mkdir -p "$dest"
	(cd "$dest" && apt-get download -q "$TERN_KERNEL_PKG=$TERN_KERNEL_VERSION" >/dev/null 2>&1) ||
		die "$TERN_KERNEL_PKG $TERN_KERNEL_VERSION is not offered (offered: $(offered "$TERN_KERNEL_PKG")); set TERN_KERNEL_VERSION in scripts/lib.sh to a 7.3.y the kernel/patches apply to"
}

make_wrapper() { # NAME PATH-IN-PREFIX [EXTRA-ARGS]
	local w=$TERN_CACHE/bin/$1 extra=${3:-}
	mkdir -p "$TERN_CACHE/bin"
	cat >"$w" <<WRAP
#!/bin/sh
# Runs $1 from the TERN private prefix through the prefix's own loader.
P=$PREFIX_DIR
exec "\$P/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \\
	--library-path "\$P/usr/lib/x86_64-linux-gnu:\$P/lib/x86_64-linux-gnu:\$P/usr/lib/x86_64-linux-gnu/pulseaudio" \\
	--argv0 $1 "\$P$2" $extra "\$@"
WRAP
	chmod +x "$w"
}

apt_private
if ! stamp_ok prefix "$KEY" || ! [ -f "$TERN_CACHE/kernel/src/${TERN_KERNEL_PKG}_${TERN_KERNEL_VERSION//:/%3a}_all.deb" ]; then
	log "prefix: updating private package lists"
	apt-get update -qq
fi
fetch_kernel_source

if stamp_ok prefix "$KEY" && [ -x "$TERN_CACHE/bin/qemu-system-x86_64" ]; then
	log "prefix: up to date ($("$TERN_CACHE/bin/qemu-system-x86_64" --version | head -1))"
	exit 0
fi
log "prefix: downloading ${PREFIX_PKGS[*]} and their closure"
rm -f "$APTDIR"/cache/archives/*.deb
want=()
for p in "${PREFIX_PKGS[@]}"; do
	case $p in
	qemu-system-x86) want+=("$p=$TERN_QEMU_VERSION") ;;
	*) want+=("$p") ;;
	esac
done
apt-get install -y -qq --download-only -t trixie-backports "${want[@]}" >/dev/null ||
	die "cannot fetch ${want[*]} (qemu-system-x86 offered: $(offered qemu-system-x86)); set TERN_QEMU_VERSION in scripts/lib.sh"
rm -rf "$PREFIX_DIR.new"
mkdir -p "$PREFIX_DIR.new"
for deb in "$APTDIR"/cache/archives/*.deb; do
	dpkg-deb -x "$deb" "$PREFIX_DIR.new"
done
rm -rf "$PREFIX_DIR"
mv "$PREFIX_DIR.new" "$PREFIX_DIR"
make_wrapper qemu-system-x86_64 /usr/bin/qemu-system-x86_64 \
	"-L \$P/usr/share/qemu -L \$P/usr/share/seabios -L \$P/usr/lib/ipxe/qemu"
make_wrapper virtiofsd /usr/libexec/virtiofsd
[ -x "$PREFIX_DIR/usr/libexec/virtiofsd" ] || make_wrapper virtiofsd /usr/bin/virtiofsd
"$TERN_CACHE/bin/qemu-system-x86_64" --version | head -1 >&2
"$TERN_CACHE/bin/qemu-system-x86_64" -device help 2>/dev/null | grep -q vfio-user-pci ||
	die "the prefix QEMU has no vfio-user-pci device"
stamp_set prefix "$KEY"
