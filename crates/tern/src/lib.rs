// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN userspace library: safe access to TERN accelerators through the tern accel driver.
//!
//! ```no_run
//! let dev = tern::Device::open_first()?;
//! println!("{:?}", dev.driver_version()?);
//! # Ok::<(), tern::Error>(())
//! ```
#![deny(unsafe_code)]

mod device;
mod error;
#[allow(unsafe_code)]
mod ioctl;

pub use device::{Device, DriverVersion, discover};
pub use error::{Error, Result};
