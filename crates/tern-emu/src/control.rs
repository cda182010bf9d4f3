// SPDX-License-Identifier: MIT OR Apache-2.0
//! The control socket: one fault-injection command per line (`docs/hardware.md` 11), answered
//! with `ok` or `error: ...`.
//!
//! ```text
//! $ echo hang=0 | socat - UNIX-CONNECT:/run/tern-control.sock
//! ok
//! ```
//!
//! The control directory does the same through files, for a guest that shares a directory with
//! the host but cannot reach its sockets: a file `NAME.req` holding commands, one per line, is
//! applied, answered in `NAME.ack` (one reply per line, the file appearing whole) and removed.
//! Write the request under another name and rename it, so that it is never read half-written.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// Applies one command line; returns the reply.
fn handle(dev: &Inner, line: &str, on_remove: &dyn Fn()) -> String {
    match Knob::parse(line) {
        Ok(k) => {
            apply(dev, &k, on_remove);
            "ok".to_string()
        }
        Err(e) => format!("error: {e}"),
    }
}

/// How often the control directory is looked at.
const DIR_POLL: Duration = Duration::from_millis(5);

/// Serves the control directory `dir` (created if missing) on a thread of its own.
pub fn spawn_dir(
    dir: &Path,
    dev: Arc<Inner>,
    on_remove: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.to_owned();
    std::thread::Builder::new()
        .name("tern-control-dir".into())
        .spawn(move || {
            loop {
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    for e in entries.flatten() {
                        let path = e.path();
                        if path.extension().is_some_and(|x| x == "req") {
                            serve_request(&dev, &path, on_remove.as_ref());
                        }
                    }
                }
                std::thread::sleep(DIR_POLL);
            }
        })?;
    Ok(())
}

/// Answers the request file `req`.
fn serve_request(dev: &Inner, req: &Path, on_remove: &dyn Fn()) {
    let Ok(text) = std::fs::read_to_string(req) else {
        return;
    };
    let _ = std::fs::remove_file(req);
    let mut reply = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        reply.push_str(&handle(dev, line, on_remove));
        reply.push('\n');
    }
    let tmp = req.with_extension("ack.tmp");
    if std::fs::write(&tmp, reply).is_ok() {
        let _ = std::fs::rename(&tmp, req.with_extension("ack"));
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
                    let reply = handle(&dev, line, on_remove.as_ref());
                    if writeln!(out, "{reply}").is_err() {
                        break;
                    }
                }
            }
        })?;
    Ok(path)
}
