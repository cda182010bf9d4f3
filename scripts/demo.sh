#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The main job: set up (cached), build, boot the dev kernel with the TERN device attached,
# load tern.ko, show the device, and run a GEMM on it checked against the CPU.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
step setup bash scripts/setup.sh
step build bash -c 'make -s module && cargo build --release --workspace --quiet && make -s firmware >/dev/null'
T=$TERN_ROOT/target/release/tern
step vm bash scripts/vm.sh --timeout 600 -- \
	"set -e; insmod $TERN_ROOT/tern.ko; $T info; echo; $T gemm ${GEMM:-96 80 112}; rmmod tern"
