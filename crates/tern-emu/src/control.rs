// SPDX-License-Identifier: MIT OR Apache-2.0
//! The control socket: one fault-injection command per line (`docs/hardware.md` 11), answered
//! with `ok` or `error: ...`.
//!
//! ```text
//! $ echo hang=0 | socat - UNIX-CONNECT:/run/tern-control.sock
//! ok
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::device::Inner;
use crate::faults::Knob;

/// Crash code written to the event page by an injected firmware crash.
pub const INJECTED_CRASH: u32 = 0xdead_0001;

/// Applies `k` to the device; `Remove` calls `on_remove`.
pub fn apply(dev: &Inner, k: &Knob, on_remove: &dyn Fn()) {
    match k {
        Knob::Crash => dev.crash(INJECTED_CRASH),
        Knob::Remove => on_remove(),
        k => dev.faults.apply(k),
    }
}

/// Serves the control socket at `path` on a thread of its own.
pub fn spawn(
    path: &Path,
    dev: Arc<Inner>,
    on_remove: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<PathBuf> {
    let listener = UnixListener::bind(path)?;
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("tern-control".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut out = match conn.try_clone() {
                    Ok(o) => o,
                    Err(_) => continue,
                };
                for line in BufReader::new(conn).lines().map_while(Result::ok) {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    let reply = match Knob::parse(line) {
                        Ok(k) => {
                            apply(&dev, &k, on_remove.as_ref());
                            "ok".to_string()
                        }
                        Err(e) => format!("error: {e}"),
                    };
                    if writeln!(out, "{reply}").is_err() {
                        break;
                    }
                }
            }
        })?;
    Ok(path)
}
