// SPDX-License-Identifier: MIT OR Apache-2.0
//! The platform's floor, measured by the driver (debugfs `selftest`, `docs/hardware.md` 3.1):
//! a register write, the device's DMA write of a word, MSI-X, the waiting thread woken.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tern::Device;

/// One self-test run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    /// Round trips run, back to back.
    pub rounds: u64,
    pub min: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// The whole run.
    pub total: Duration,
}

impl Floor {
    /// Round trips per second, back to back: the floor's interrupt rate.
    pub fn rate(&self) -> f64 {
        self.rounds as f64 / self.total.as_secs_f64()
    }
}

/// Parses what `selftest` reads: `name value` lines, nanoseconds.
pub fn parse(text: &str) -> Result<Floor> {
    if let Some(e) = text.lines().find_map(|l| l.strip_prefix("error ")) {
        bail!("the driver's self-test failed: {e}");
    }
    let get = |key: &str| -> Result<u64> {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .with_context(|| format!("no {key} in the self-test's output"))?
            .1
            .trim()
            .parse()
            .with_context(|| format!("{key} is not a number"))
    };
    let ns = |key: &str| get(key).map(Duration::from_nanos);
    let f = Floor {
        rounds: get("rounds")?,
        min: ns("min_ns")?,
        p50: ns("p50_ns")?,
        p99: ns("p99_ns")?,
        total: ns("total_ns")?,
    };
    if f.rounds == 0 || f.total.is_zero() {
        bail!("the self-test ran no round trip");
    }
    Ok(f)
}

/// The debugfs directory of `dev`: `tern-<PCI address>`.
fn debugfs_dir(dev: &Device) -> Result<PathBuf> {
    let node = dev.path().file_name().context("device path has no name")?;
    let pci = std::fs::read_link(Path::new("/sys/class/accel").join(node).join("device"))
        .context("no PCI device behind the accel node")?;
    let addr = pci.file_name().context("PCI device link has no name")?;
    Ok(Path::new("/sys/kernel/debug").join(format!("tern-{}", addr.to_string_lossy())))
}

/// Runs the driver's self-test on `dev` (root only; debugfs is mounted if it is not yet).
pub fn measure(dev: &Device) -> Result<Floor> {
    let dir = debugfs_dir(dev)?;
    if !dir.exists() {
        let _ = std::process::Command::new("mount")
            .args(["-t", "debugfs", "none", "/sys/kernel/debug"])
            .status();
    }
    let file = dir.join("selftest");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_selftest_output() {
        let text = "rounds 2000\nmin_ns 50000\np50_ns 90000\np99_ns 300000\nmax_ns 900000\n\
                    total_ns 200000000\n";
        let f = parse(text).unwrap();
        assert_eq!(f.rounds, 2000);
        assert_eq!(f.p50, Duration::from_micros(90));
        assert_eq!(f.rate(), 10000.0);
        assert!(parse("rounds 0\nmin_ns 1\np50_ns 1\np99_ns 1\ntotal_ns 1\n").is_err());
        assert!(parse("rounds 5\n").is_err());
        let e = parse("error ETIMEDOUT\n").unwrap_err().to_string();
        assert!(e.contains("ETIMEDOUT"), "{e}");
    }
}
