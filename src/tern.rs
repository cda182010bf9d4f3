// SPDX-License-Identifier: GPL-2.0

//! TERN processing accelerator driver.
//!
//! A DRM compute-accelerator driver (`/dev/accel/accelN`) for the TERN PCI accelerator.

mod driver;
mod event;
mod file;
mod gem;
mod regs;

kernel::module_pci_driver! {
    type: driver::TernDriver,
    name: "tern",
    authors: ["TERN developers"],
    description: "TERN processing accelerator",
    license: "GPL",
}
