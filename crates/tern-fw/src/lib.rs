// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN firmware: the image format (`docs/hardware.md` 4.1), its builder, and the boot ROM's
//! checks, shared by the `tern-fw` builder and the device model.

pub mod image;
pub mod source;

pub use image::{Loaded, Manifest, build, check, digest};
pub use source::{SourceError, parse};
