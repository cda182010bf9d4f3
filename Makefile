# SPDX-License-Identifier: GPL-2.0
#
# TERN: out-of-tree build of tern.ko and the project's entry points. `make help` lists them.

KDIR ?= $(HOME)/.cache/tern/kernel/linux
TERN_CACHE ?= $(HOME)/.cache/tern
export PATH := $(TERN_CACHE)/bin:$(TERN_CACHE)/venv/bin:$(HOME)/.cargo/bin:$(PATH)
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
# The toolchain of rust-toolchain.toml, also inside the kernel tree.
export RUSTUP_TOOLCHAIN ?= $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' $(CURDIR)/rust-toolchain.toml)
# A tree built with Clang needs the module built with the same LLVM: read it from its config.
KLLVM = $(shell v=$$(sed -n 's/^CONFIG_CLANG_VERSION=\([0-9]*\)/\1/p' $(KDIR)/.config 2>/dev/null); \
	[ -n "$$v" ] && [ "$$v" != 0 ] && echo LLVM=-$$((v / 10000)))

.PHONY: all module modules firmware check vm demo fuzz kernel kernel-san setup clean help kdir-check \
	upstream upstream-check

all: module

module modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KLLVM) $(if $(CLIPPY),CLIPPY=1) modules

# The firmware image, where the guest's firmware loader finds it (firmware_class.path).
firmware:
	cargo run -q --release -p tern-fw -- build firmware/tern-fw.src -o firmware/out/tern/tern-fw-v1.bin

# One line per missing piece, naming the fix.
kdir-check:
	@test -f $(KDIR)/Makefile || { echo "tern: KDIR=$(KDIR) is not a kernel build tree: run 'make kernel' or pass KDIR=/path/to/linux"; exit 1; }
	@test -f $(KDIR)/.config || { echo "tern: $(KDIR) is not configured: build it with kernel/tern.config ('make kernel')"; exit 1; }
	@grep -q '^CONFIG_RUST=y' $(KDIR)/.config || { echo "tern: $(KDIR) lacks CONFIG_RUST=y: merge kernel/tern.config and rebuild"; exit 1; }
	@grep -q '^CONFIG_DRM=y' $(KDIR)/.config || { echo "tern: $(KDIR) has DRM as a module or off; kernel::drm needs CONFIG_DRM=y: merge kernel/tern.config and rebuild"; exit 1; }
	@grep -q '^CONFIG_DRM_ACCEL=y' $(KDIR)/.config || { echo "tern: $(KDIR) lacks CONFIG_DRM_ACCEL=y: merge kernel/tern.config and rebuild"; exit 1; }
	@test -f $(KDIR)/rust/libkernel.rmeta || { echo "tern: $(KDIR) has no Rust metadata (rust/libkernel.rmeta): build the tree itself, not only its headers"; exit 1; }
	@grep -q 'FEAT_COMPUTE_ACCEL' $(KDIR)/rust/kernel/drm/driver.rs || { echo "tern: $(KDIR) lacks the kernel/patches series (no FEAT_COMPUTE_ACCEL in rust/kernel/drm): apply kernel/patches/*.patch in series order and rebuild"; exit 1; }

check:
	bash scripts/check.sh

demo:
	bash scripts/demo.sh

# The structured fuzzer on the sanitizer kernel, longer than in make check.
# IOCTLS, SECONDS, SEED, PROCS, THREADS tune it; the figures and any finding are printed.
IOCTLS ?= 1000000
SECONDS ?= 3000
fuzz:
	bash scripts/fuzz.sh --ioctls $(IOCTLS) --seconds $(SECONDS) $(if $(SEED),--seed $(SEED)) \
		$(if $(PROCS),--procs $(PROCS)) $(if $(THREADS),--threads $(THREADS))

vm: module firmware
	cargo build --release --workspace --quiet
	$(if $(DEVICES),TERN_VM_DEVICES=$(DEVICES)) bash scripts/vm.sh $(if $(CMD),-- $(CMD))

kernel:
	bash scripts/setup.sh dev

# The sanitizer kernel the guest tests run on (Clang, KASAN, UBSAN, lockdep, ...).
kernel-san:
	bash scripts/setup.sh test

# The upstream patch series (docs/upstream.md) into $(TERN_CACHE)/upstream/series, or OUT=dir.
upstream:
	$(if $(OUT),TERN_UPSTREAM_OUT=$(OUT)) bash scripts/upstream.sh

# The series' checks: git am, every patch built, checkpatch, docs, the in-tree driver in the VM.
upstream-check:
	bash scripts/upstream-check.sh

setup: kernel

# Not kbuild's "clean": in M= mode it deletes every *.s below the tree, kernels/ included.
clean:
	rm -f tern.ko tern.o tern.mod tern.mod.c tern.mod.o .tern*.cmd Module.symvers modules.order
	rm -f src/*.o src/.*.cmd src/*.rmeta src/*.d
	rm -rf generated firmware/out

help:
	@echo 'TERN make targets:'
	@echo '  make              build tern.ko against KDIR (default: the dev kernel in $(KDIR))'
	@echo '  make firmware     build the firmware image into firmware/out'
	@echo '  make check        set up, build, run host tests and guest tests in a VM'
	@echo '  make demo         boot the VM with the device, load the driver, run a workload'
	@echo '  make fuzz         the structured fuzzer on the sanitizer kernel (IOCTLS=1000000 SEED=..)'
	@echo '  make vm [CMD=..]  boot the dev kernel with the device attached: a shell, or run CMD;'
	@echo '                    DEVICES=2 attaches two devices (accel0, accel1), one model each'
	@echo '  make kernel       provision the host and build the dev kernel (cached)'
	@echo '  make kernel-san   build the sanitizer kernel the guest tests run on (cached)'
	@echo '  make upstream     the upstream patch series for drivers/accel/tern [OUT=dir]'
	@echo '  make upstream-check  apply, build and check every patch of it, test it in the VM'
	@echo '  make clean        remove module build products'
	@echo 'Variables: KDIR=/path/to/linux (a built 7.3 tree with kernel/tern.config and kernel/patches)'
