#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# `make fuzz`: the structured fuzzer (crates/tern-fuzz) alone in one guest run on the sanitizer
# kernel, with the arguments given (see `tern-fuzz --help`). The run is judged like the guest
# tests: any finding of the fuzzer, any kernel report in dmesg, a crash or a hang fails it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"
export KDIR=${KDIR:-$KSAN_DIR}
export KIMAGE=${KIMAGE:-$KDIR/arch/x86/boot/bzImage}
step setup bash scripts/setup.sh test || die "set-up failed"
step module make -s module || die "the module does not build"
step userspace cargo build --release --workspace --quiet || die "the workspace does not build"
step firmware make -s firmware || die "the firmware does not build"
step fuzz env TERN_GUEST_SKIP_TESTS=1 TERN_FUZZ_ARGS="$*" \
	TERN_GUEST_TIMEOUT="${TERN_GUEST_TIMEOUT:-3600}" bash scripts/guest-test.sh
