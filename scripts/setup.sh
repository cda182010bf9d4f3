#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Everything TERN needs on a Debian 12 machine, idempotently, cached in $TERN_CACHE
# (default ~/.cache/tern). Each step is skipped when its inputs are unchanged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
S=$TERN_ROOT/scripts
step host-packages bash "$S/setup-host.sh"
step rust bash "$S/setup-rust.sh"
step qemu-prefix bash "$S/setup-prefix.sh"
step virtme-ng bash "$S/setup-vng.sh"
step dev-kernel bash "$S/build-kernel.sh"
