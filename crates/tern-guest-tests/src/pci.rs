// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PCI function and its binding to the driver.

use std::path::PathBuf;

use crate::ktap::{Outcome, check};

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The sysfs directory of the first TERN PCI function.
pub fn tern_function() -> Result<PathBuf, String> {
    let dir = std::fs::read_dir("/sys/bus/pci/devices").map_err(|e| format!("sysfs: {e}"))?;
    dir.filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| {
            read(d.join("vendor")) == format!("{:#06x}", tern_hw::pci::VENDOR_ID)
                && read(d.join("device")) == format!("{:#06x}", tern_hw::pci::DEVICE_ID)
        })
        .min()
        .ok_or_else(|| "no PCI function 1234:7e50 in /sys/bus/pci/devices".into())
}

pub fn function_present() -> Outcome {
    let d = tern_function()?;
    let class = read(d.join("class"));
    check(
        class == format!("{:#08x}", tern_hw::pci::CLASS_CODE),
        || format!("{} has class {class}, want 0x120000", d.display()),
    )
}

pub fn driver_bound() -> Outcome {
    let d = tern_function()?;
    let drv = std::fs::read_link(d.join("driver")).map_err(|_| "no driver bound".to_string())?;
    let name = drv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    check(name == "tern", || format!("bound to '{name}', want 'tern'"))
}

/// Interrupt counts of the function's MSI-X vectors, from /proc/interrupts.
pub fn msix_counts() -> Result<Vec<u64>, String> {
    let d = tern_function()?;
    let irqs: Vec<String> = std::fs::read_dir(d.join("msi_irqs"))
        .map_err(|_| "no msi_irqs: MSI-X not enabled".to_string())?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let table = std::fs::read_to_string("/proc/interrupts").map_err(|e| e.to_string())?;
    Ok(irqs
        .iter()
        .map(|irq| {
            table
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{irq}:")))
                .map(|l| {
                    l.split_whitespace()
                        .skip(1)
                        .map_while(|w| w.parse::<u64>().ok())
                        .sum()
                })
                .unwrap_or(0)
        })
        .collect())
}

pub fn msix_delivered() -> Outcome {
    let counts = msix_counts()?;
    check(
        counts.len() == usize::from(tern_hw::pci::MSIX_VECTORS),
        || {
            format!(
                "{} MSI-X vectors enabled, want {}",
                counts.len(),
                tern_hw::pci::MSIX_VECTORS
            )
        },
    )?;
    check(counts.iter().sum::<u64>() >= 1, || {
        format!("no interrupt delivered: {counts:?}")
    })
}
