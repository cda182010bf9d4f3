// SPDX-License-Identifier: MIT OR Apache-2.0
//! An idle device burns no CPU: queue workers sleep until a doorbell. Alone in its own test
//! binary so the process CPU time is this device's.

mod common;
use common::*;

fn cpu_us() -> i64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .expect("fields")
        .split_whitespace()
        .collect();
    // utime and stime, in clock ticks of 10 ms.
    (f[11].parse::<i64>().expect("utime") + f[12].parse::<i64>().expect("stime")) * 10_000
}

#[test]
fn idle_workers_sleep() {
    let mut t = TestDriver::ready();
    let s = t.submit(0, nop());
    t.wait(0, s);
    let before = cpu_us();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let spent = cpu_us() - before;
    assert!(
        spent <= 20_000,
        "idle device used {spent} us of CPU in 500 ms"
    );
}
