# SPDX-License-Identifier: MIT OR Apache-2.0
# Common helpers for TERN's provisioning and VM scripts. Source, do not run.

TERN_ROOT=${TERN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TERN_CACHE=${TERN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tern}
mkdir -p "$TERN_CACHE"

# Pinned versions: change here, and every step that depends on them reruns.
TERN_KERNEL_PKG=linux-source-7.3
# The exact source package version. Debian's backports archive keeps only its newest upload:
# when this one is gone, scripts/setup-prefix.sh stops and names the versions on offer; a
# newer 7.3.y is taken only by changing this line (or TERN_KERNEL_VERSION in the environment).
TERN_KERNEL_VERSION=${TERN_KERNEL_VERSION:-7.3.4-1~bpo13+1}
# QEMU (with the vfio-user client) and virtiofsd for the private prefix, from trixie-backports.
TERN_QEMU_VERSION=${TERN_QEMU_VERSION:-1:11.1.3+ds-2~bpo13+1}
TERN_BINDGEN_VERSION=0.73.2
TERN_VNG_VERSION=1.42
TERN_LLVM=19
# The KUnit suites of the kernel patches (kernel/patches), run at boot on a KUnit kernel.
TERN_KUNIT_SUITES="rust_dma_fence rust_dma_resv" # all match the glob in scripts/vm.sh
export LIBCLANG_PATH=/usr/lib/llvm-$TERN_LLVM/lib

# The Rust toolchain of rust-toolchain.toml, for builds in the kernel trees too.
RUSTUP_TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$TERN_ROOT/rust-toolchain.toml")
export RUSTUP_TOOLCHAIN

PREFIX_DIR=$TERN_CACHE/prefix
VENV_DIR=$TERN_CACHE/venv
# Two dev kernels from one source package (docs/driver.md, "Kernels"): "dev", built with GCC
# and no sanitizers, for make demo, make vm and benchmarks; "san", built with Clang and every
# sanitizer, which the guest tests run on.
KBUILD_DIR=$TERN_CACHE/kernel/linux
KSAN_DIR=$TERN_CACHE/kernel-san/linux
# make upstream: the git tree the series is made and built in, and where the series is written.
UPSTREAM_DIR=$TERN_CACHE/upstream
UPSTREAM_TREE=$UPSTREAM_DIR/linux
UPSTREAM_OUT=${TERN_UPSTREAM_OUT:-$UPSTREAM_DIR/series}
export PATH="$TERN_CACHE/bin:$VENV_DIR/bin:$HOME/.cargo/bin:$PATH"

log() { printf '[tern] %s\n' "$*" >&2; }

# relocate_build_tree FROM TO DIR: DIR is a copy (cp -a) of the kernel build tree FROM that will
# be used as TO. Parts of the build record absolute paths in their .cmd and .d files (tools/:
# objtool, whose rebuild makes every object out of date; rust/): rewriting them keeps the copy's
# objects up to date where they are.
relocate_build_tree() {
	grep -rlZ --include='*.cmd' --include='*.d' -F "$1/" "$3" 2>/dev/null |
		xargs -0 -r sed -i "s|$1/|$2/|g"
}
die() { printf '[tern] error: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: run CMD and print how long it took.
step() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s.%N)
	"$@"
	rc=$?
	printf '[tern] step %-18s %6.1f s%s\n' "$name" \
		"$(echo "$(date +%s.%N) - $t0" | bc)" \
		"$([ $rc -eq 0 ] || echo " (FAILED rc=$rc)")" >&2
	return $rc
}

# stamp_ok NAME KEY: true when the step NAME last completed with inputs KEY.
stamp_ok() { [ -f "$TERN_CACHE/stamps/$1" ] && [ "$(cat "$TERN_CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$TERN_CACHE/stamps"; printf '%s' "$2" >"$TERN_CACHE/stamps/$1"; }

# The Debian mirror: TERN_DEBIAN_MIRROR, or the host's own (the archive its bookworm sources use).
debian_mirror() {
	local m=${TERN_DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 == "bookworm" { sub("/$", "", $1); print $1; exit }')}
	[ -n "$m" ] || die "no bookworm archive in the host's apt sources: set TERN_DEBIAN_MIRROR to a Debian mirror"
	echo "$m"
}

# Run as root, or through sudo when not root.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
