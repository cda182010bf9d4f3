// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `tern-emu` process: fault injection over its control socket, command-line errors, and
//! a clean exit on SIGTERM and on surprise removal.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-proc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start(dir: &Path, extra: &[&str]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_tern-emu"))
        .arg("--socket")
        .arg(dir.join("tern.sock"))
        .arg("--control")
        .arg(dir.join("ctl.sock"))
        .args(extra)
        .spawn()
        .expect("tern-emu starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("ctl.sock").exists() {
        assert!(Instant::now() < deadline, "control socket never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "tern-emu did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn control_socket_answers_and_remove_exits() {
    let dir = tmpdir("ctl");
    let mut child = start(&dir, &[]);
    let s = UnixStream::connect(dir.join("ctl.sock")).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut ask = |cmd: &str| {
        writeln!(&s, "{cmd}").unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line.trim().to_string()
    };
    assert_eq!(ask("hang=1"), "ok");
    assert_eq!(ask("boot-fail=bad_magic"), "ok");
    assert_eq!(ask("clear"), "ok");
    assert!(ask("hang=9").starts_with("error: queue 9 does not exist"));
    assert!(ask("explode").starts_with("error: unknown fault"));
    writeln!(&s, "remove").unwrap();
    let st = wait_exit(&mut child);
    assert!(st.success(), "{st}");
    assert!(
        !dir.join("tern.sock").exists() && !dir.join("ctl.sock").exists(),
        "sockets left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_exits_cleanly() {
    let dir = tmpdir("term");
    let mut child = start(&dir, &["--inject", "mmu-fault"]);
    // SAFETY: sending a signal to our own child process by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let st = wait_exit(&mut child);
    assert!(st.success(), "{st}");
    assert!(!dir.join("tern.sock").exists(), "socket left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_tern-emu"))
        .args(["--socket", "/nonexistent/dir/x.sock", "--inject", "hang=7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("queue 7 does not exist"));
    let out = Command::new(env!("CARGO_BIN_EXE_tern-emu"))
        .args(["--socket", "/nonexistent/dir/x.sock"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/x.sock"));
}
