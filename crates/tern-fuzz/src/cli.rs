// SPDX-License-Identifier: MIT OR Apache-2.0
//! Command line and the run configuration it gives.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// What the workers spend their operations on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Everything below, mixed.
    Mixed,
    /// Submissions (valid, random, bad) and waits, buffers closed under running jobs,
    /// files closed with jobs in flight.
    Jobs,
    /// Buffer create/info/close/mmap, PRIME export/import between files, fork with open
    /// files.
    Objects,
    /// Syscall-fuzzer style: driver and core DRM ioctl numbers with varied directions and
    /// sizes and random payloads.
    Raw,
}

/// tern-fuzz: a structured fuzzer for the tern accel driver, run inside the guest.
#[derive(Debug, Parser)]
#[command(name = "tern-fuzz", version)]
pub struct Args {
    /// Device node to attack.
    #[arg(long, default_value = "/dev/accel/accel0")]
    pub device: PathBuf,
    /// Seed (decimal or 0x hex); random when omitted. Printed at start for replay.
    #[arg(long, value_parser = parse_u64)]
    pub seed: Option<u64>,
    /// Ioctl budget over all processes [default 1000000, --quick 100000].
    #[arg(long)]
    pub ioctls: Option<u64>,
    /// Time bound in seconds [default 600, --quick 400].
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Worker processes, 1..=63 [default 4, --quick 2].
    #[arg(long)]
    pub procs: Option<usize>,
    /// Threads per worker, 1..=16 [default 3, --quick 2].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Operation mix.
    #[arg(long, value_enum, default_value_t = Mode::Mixed)]
    pub mode: Mode,
    /// CI preset: 100000 ioctls, at most 400 s, 2 processes of 2 threads (explicit options win).
    #[arg(long)]
    pub quick: bool,
    /// Seconds between progress lines on stdout (0: none).
    #[arg(long, default_value_t = 10.0)]
    pub progress: f64,
    /// Seconds without progress after which a process counts as hung.
    #[arg(long, default_value_t = 60.0)]
    pub watchdog: f64,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("bad number '{s}': {e}"))
}

/// The run's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub device: PathBuf,
    pub seed: u64,
    pub ioctls: u64,
    pub seconds: f64,
    pub procs: usize,
    pub threads: usize,
    pub mode: Mode,
    pub progress: f64,
    pub watchdog: f64,
}

impl Args {
    /// The configuration, or why the options are unusable.
    pub fn config(self, default_seed: u64) -> Result<Config, String> {
        let q = self.quick;
        let c = Config {
            device: self.device,
            seed: self.seed.unwrap_or(default_seed),
            ioctls: self.ioctls.unwrap_or(if q { 100_000 } else { 1_000_000 }),
            seconds: self.seconds.unwrap_or(if q { 400.0 } else { 600.0 }),
            procs: self.procs.unwrap_or(if q { 2 } else { 4 }),
            threads: self.threads.unwrap_or(if q { 2 } else { 3 }),
            mode: self.mode,
            progress: self.progress,
            watchdog: self.watchdog,
        };
        if !(1..crate::shared::MAX_PROCS).contains(&c.procs) {
            return Err(format!("--procs {} outside 1..=63", c.procs));
        }
        if !(1..=crate::shared::MAX_THREADS).contains(&c.threads) {
            return Err(format!("--threads {} outside 1..=16", c.threads));
        }
        if !(c.seconds > 0.0 && c.seconds < 1e7) || c.ioctls == 0 {
            return Err("--seconds and --ioctls must be positive".into());
        }
        if !(c.watchdog >= 1.0 && c.progress >= 0.0) {
            return Err("--watchdog must be at least 1 s and --progress not negative".into());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_overrides() {
        let a = Args::try_parse_from(["tern-fuzz", "--quick", "--seed", "0x10", "--procs", "3"])
            .expect("parses");
        let c = a.config(1).expect("valid");
        assert_eq!((c.seed, c.ioctls, c.procs, c.threads), (16, 100_000, 3, 2));
        let c = Args::try_parse_from(["tern-fuzz"])
            .expect("parses")
            .config(5)
            .expect("valid");
        assert_eq!((c.seed, c.ioctls, c.mode), (5, 1_000_000, Mode::Mixed));
        let bad = Args::try_parse_from(["tern-fuzz", "--threads", "99"]).expect("parses");
        assert!(bad.config(0).is_err());
    }
}
