#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Rust pieces the dev kernel needs: rust-src for the toolchain rustup manages, and bindgen-cli
# at a pinned version (installed into $TERN_CACHE so the host's cargo bin stays untouched).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rust: adding rust-src"
	rustup component add rust-src
fi
want="bindgen $TERN_BINDGEN_VERSION"
if [ "$("$TERN_CACHE/bin/bindgen" --version 2>/dev/null)" != "$want" ]; then
	log "rust: installing bindgen-cli $TERN_BINDGEN_VERSION (about 1.5 minutes)"
	cargo install -q --locked --root "$TERN_CACHE" "bindgen-cli@$TERN_BINDGEN_VERSION"
fi
log "rust: $(rustc --version), $("$TERN_CACHE/bin/bindgen" --version)"
