# SPDX-License-Identifier: GPL-2.0
#
# tern.ko, built out of tree against KDIR: a kernel build tree or an installed headers tree
# (/lib/modules/RELEASE/build). The project's Makefile includes this file; the tern-dkms
# package installs it as the Makefile of /usr/src/tern-VERSION, and DKMS runs
# `make KDIR=... modules` there. kdir-check refuses a kernel that cannot host the driver with
# one line naming what it lacks.

KCONF = $(KDIR)/include/config/auto.conf
KREL ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null || echo "?")
# A tree built with Clang needs the module built with the same LLVM: read it from its config.
KLLVM = $(shell v=$$(sed -n 's/^CONFIG_CLANG_VERSION=\([0-9]*\)/\1/p' $(KCONF) 2>/dev/null); \
	[ -n "$$v" ] && [ "$$v" != 0 ] && echo LLVM=-$$((v / 10000)))
KLLVMV = $(patsubst LLVM=%,%,$(KLLVM))
# The Rust compiler must be the one the kernel was built by: its crates' metadata is tied to it.
TERN_RUSTC = $(or $(RUSTC),rustc)
KRUSTC = $(shell sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' $(KCONF) 2>/dev/null)
HAVE_RUSTC = $(shell $(TERN_RUSTC) --version 2>/dev/null | head -1)

.PHONY: module modules kdir-check module-clean

module modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KLLVM) $(if $(RUSTC),RUSTC=$(RUSTC)) $(if $(CLIPPY),CLIPPY=1) modules

# One line per missing piece, naming the fix; the first one found stops the build.
kdir-check:
	@test -f $(KDIR)/Makefile || { echo "tern: KDIR=$(KDIR) is not a kernel build or headers tree: run 'make kernel', install linux-headers-RELEASE, or pass KDIR=/path/to/linux"; exit 1; }
	@test -f $(KCONF) || { echo "tern: $(KDIR) is not configured and prepared (no include/config/auto.conf): build it with kernel/tern.config ('make kernel')"; exit 1; }
	@grep -q '^CONFIG_RUST=y' $(KCONF) || { echo "tern: kernel $(KREL) lacks CONFIG_RUST=y: the driver is written in Rust (kernel/tern.config)"; exit 1; }
	@grep -q '^CONFIG_DRM=y' $(KCONF) || { echo "tern: kernel $(KREL) has DRM as a module or off: kernel::drm needs CONFIG_DRM=y (kernel/tern.config)"; exit 1; }
	@grep -q '^CONFIG_DRM_ACCEL=y' $(KCONF) || { echo "tern: kernel $(KREL) lacks CONFIG_DRM_ACCEL=y (kernel/tern.config)"; exit 1; }
	@test -f $(KDIR)/rust/libkernel.rmeta || { echo "tern: kernel $(KREL) has no Rust metadata (rust/libkernel.rmeta): a headers package needs kernel/patches/0025, a build tree must be built"; exit 1; }
	@grep -qa 'FEAT_COMPUTE_ACCEL' $(KDIR)/rust/libkernel.rmeta || { echo "tern: kernel $(KREL) lacks the TERN enabling patches (kernel/patches; no drm::driver::FEAT_COMPUTE_ACCEL in its kernel crate)"; exit 1; }
	@test -z "$(KLLVM)" || command -v clang$(KLLVMV) >/dev/null || { echo "tern: kernel $(KREL) was built with Clang$(KLLVMV): the module needs the same LLVM (install clang$(KLLVMV), lld$(KLLVMV) and llvm$(KLLVMV))"; exit 1; }
	@test "$(HAVE_RUSTC)" = "$(KRUSTC)" || { echo "tern: kernel $(KREL) was built by $(KRUSTC), but $(TERN_RUSTC) is $(or $(HAVE_RUSTC),not found): install that rustc (on root's PATH for DKMS) or pass RUSTC=/path/to/rustc"; exit 1; }

# Not kbuild's "clean": in M= mode it deletes every *.s below the tree, kernels/ included.
module-clean:
	rm -f tern.ko tern.o tern.mod tern.mod.c tern.mod.o .tern*.cmd Module.symvers modules.order
	rm -f src/*.o src/.*.cmd src/*.rmeta src/*.d
	rm -f generated/tern_uapi.rs generated/.tern_uapi.rs.cmd
