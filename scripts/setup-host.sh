#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Host packages for building the dev kernel and running guests. Debian 12 (bookworm)
# packages only: nothing from testing/unstable enters the host.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves cpio kmod zstd xz-utils
	"clang-$TERN_LLVM" "libclang-$TERN_LLVM-dev" "lld-$TERN_LLVM" "llvm-$TERN_LLVM"
	busybox-static udev python3-venv file libdrm-dev
	# Packages (make debs) and the Debian guest root they are tested in.
	debhelper dh-dkms libdw-dev rsync fakeroot debootstrap e2fsprogs
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	log "host packages: all present"
	exit 0
fi
log "host packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq -t bookworm --no-install-recommends "${missing[@]}" >/dev/null
