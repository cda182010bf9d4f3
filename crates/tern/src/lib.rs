// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN userspace library: safe access to TERN accelerators through the tern accel driver.
//!
//! ```no_run
//! let dev = tern::Device::open_first()?;
//! println!("{:?}", dev.driver_version()?);
//! # Ok::<(), tern::Error>(())
//! ```
#![deny(unsafe_code)]

mod buffer;
pub mod coredump;
mod device;
mod dmabuf;
mod error;
#[allow(unsafe_code)]
mod ioctl;
mod job;
mod launch;
mod priority;
mod query;
mod sync;

pub use buffer::{Buffer, BufferFlags};
pub use device::{Device, DriverVersion, discover};
pub use dmabuf::{DmaBuf, DmaBufMap};
pub use error::{Error, Result};
pub use job::{BatchError, Completion, Job, JobStatus, MAX_BATCH, Submit};
pub use launch::{ARG_BLOCK_VA, Arg, Prepared, prepare};
pub use priority::Priority;
pub use query::DeviceInfo;
pub use sync::{SyncObj, SyncPoint, deadline_after, monotonic_ns};
