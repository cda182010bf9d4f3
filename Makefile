# SPDX-License-Identifier: GPL-2.0
#
# TERN: out-of-tree build of tern.ko and the project's entry points. `make help` lists them.

KDIR ?= $(HOME)/.cache/tern/kernel/linux
TERN_CACHE ?= $(HOME)/.cache/tern
export PATH := $(TERN_CACHE)/bin:$(TERN_CACHE)/venv/bin:$(HOME)/.cargo/bin:$(PATH)
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
# The toolchain of rust-toolchain.toml, also inside the kernel tree.
export RUSTUP_TOOLCHAIN ?= $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' $(CURDIR)/rust-toolchain.toml)

.PHONY: all module modules firmware check vm demo fuzz kernel kernel-san setup clean help debs \
	upstream upstream-check

all: module

include $(CURDIR)/module.mk

# The firmware image, where the guest's firmware loader finds it (firmware_class.path).
firmware:
	cargo run -q --release -p tern-fw -- build firmware/tern-fw.src -o firmware/out/tern/tern-fw-v1.bin

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

# Debian packages (docs/packaging.md) into $(TERN_CACHE)/debs.
debs:
	bash scripts/debs.sh

setup: kernel

clean: module-clean
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
	@echo '  make debs         Debian packages: the dev kernel (image, headers), tern-dkms, tern-firmware, tern-tools'
	@echo '  make upstream-check  apply, build and check every patch of it, test it in the VM'
	@echo '  make clean        remove module build products'
	@echo 'Variables: KDIR=/path/to/linux (a built 7.3 tree with kernel/tern.config and kernel/patches)'
