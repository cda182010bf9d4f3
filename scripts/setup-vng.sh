#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# virtme-ng, pinned, in a venv in the cache; `vng` and `virtme-run` linked into $TERN_CACHE/bin.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KEY="vng $TERN_VNG_VERSION"
if stamp_ok vng "$KEY" && [ -x "$TERN_CACHE/bin/vng" ]; then
	log "virtme-ng: $TERN_VNG_VERSION present"
	exit 0
fi
log "virtme-ng: installing $TERN_VNG_VERSION"
rm -rf "$VENV_DIR"
python3 -m venv "$VENV_DIR"
"$VENV_DIR/bin/pip" install -q --disable-pip-version-check "virtme-ng==$TERN_VNG_VERSION"
mkdir -p "$TERN_CACHE/bin"
for b in vng virtme-run; do ln -sf "$VENV_DIR/bin/$b" "$TERN_CACHE/bin/$b"; done
stamp_set vng "$KEY"
