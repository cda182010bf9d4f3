#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The Rust toolchain of rust-toolchain.toml with the components the kernel and the lints need,
# and bindgen-cli at a pinned version (installed into $TERN_CACHE so the host's cargo bin stays
# untouched).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

have=$(rustup component list --toolchain "$RUSTUP_TOOLCHAIN" --installed 2>/dev/null || true)
if ! grep -q '^rust-src' <<<"$have" || ! grep -q '^clippy' <<<"$have" || ! grep -q '^rustfmt' <<<"$have"; then
	log "rust: installing toolchain $RUSTUP_TOOLCHAIN with rust-src, rustfmt and clippy"
	rustup toolchain install "$RUSTUP_TOOLCHAIN" --profile minimal -c rust-src -c rustfmt -c clippy
fi
want="bindgen $TERN_BINDGEN_VERSION"
if [ "$("$TERN_CACHE/bin/bindgen" --version 2>/dev/null)" != "$want" ]; then
	log "rust: installing bindgen-cli $TERN_BINDGEN_VERSION (about 1.5 minutes)"
	cargo install -q --locked --root "$TERN_CACHE" "bindgen-cli@$TERN_BINDGEN_VERSION"
fi
log "rust: $(rustc --version), $("$TERN_CACHE/bin/bindgen" --version)"
