// SPDX-License-Identifier: GPL-2.0

//! TERN processing accelerator driver.
//!
//! A DRM compute-accelerator driver (`/dev/accel/accelN`) for the TERN PCI accelerator.

mod batch; //@ step batch
mod bo; //@ step buffers
mod coredump; //@ step recovery
mod debugfs; //@ step debugfs
mod driver;
mod event;
mod file;
mod fw; //@ step firmware
mod gem;
mod ioctl;
mod job; //@ step jobs
mod mem;
mod mmu; //@ step buffers
mod queue; //@ step jobs
mod recovery; //@ step recovery
mod regs;
mod selftest; //@ step debugfs
mod shared;
mod submit; //@ step jobs
mod uapi;
mod vm; //@ step buffers

kernel::module_pci_driver! {
    type: driver::TernDriver,
    name: "tern",
    authors: ["TERN developers"],
    description: "TERN processing accelerator",
    license: "GPL",
    // Importing dma-bufs of other devices (the shmem abstraction's import path).
    imports_ns: ["DMA_BUF"],
    //@ step recovery {
    params: {
        timeout_ms: u32 {
            default: 2000,
            description: "Milliseconds without progress before a job is stopped (default 2000)",
        },
    },
    //@ }
}

kernel::module_firmware!(fw::FwFiles); //@ step firmware
