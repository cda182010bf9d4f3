#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Everything TERN needs on a Debian 12 machine, idempotently, cached in $TERN_CACHE
# (default ~/.cache/tern). Each step is skipped when its inputs are unchanged.
#
#   setup.sh [dev|test|all]   which dev kernel to build: dev (GCC, for make demo, make vm and
#                             benchmarks; the default), test (the sanitizer kernel the guest
#                             tests run on), or both
set -euo pipefail
. "$(dirname "$0")/lib.sh"
S=$TERN_ROOT/scripts
step host-packages bash "$S/setup-host.sh"
step rust bash "$S/setup-rust.sh"
step qemu-prefix bash "$S/setup-prefix.sh"
step virtme-ng bash "$S/setup-vng.sh"
case ${1:-dev} in
dev) step dev-kernel bash "$S/build-kernel.sh" dev ;;
test) step san-kernel bash "$S/build-kernel.sh" san ;;
all) step dev-kernel bash "$S/build-kernel.sh" dev && step san-kernel bash "$S/build-kernel.sh" san ;;
*) die "setup.sh: unknown argument '$1' (dev, test or all)" ;;
esac
