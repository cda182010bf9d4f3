// SPDX-License-Identifier: MIT OR Apache-2.0
//! The TERN accelerator model. `docs/hardware.md` is its specification; QEMU attaches it with
//! `vfio-user-pci`, and host tests drive [`device::Device`] directly the way a driver would.

pub mod backend;
pub mod boot;
pub mod control;
pub mod device;
pub mod dma;
pub mod engine;
pub mod faults;
pub mod gemm;
pub mod irq;
pub mod mmu;
pub mod pci_config;
pub mod proxy;
pub mod queue;
pub mod wire;
