// SPDX-License-Identifier: MIT OR Apache-2.0
//! The accel device node.

use std::path::Path;

use crate::ktap::{Outcome, check};

pub fn accel_node_discovered() -> Outcome {
    let found = tern::discover();
    check(!found.is_empty(), || {
        "no TERN node in /sys/class/accel".into()
    })?;
    let p = &found[0];
    check(p.starts_with("/dev/accel") && p.exists(), || {
        format!("{} missing", p.display())
    })
}

pub fn version_ioctl() -> Outcome {
    let dev = tern::Device::open_first().map_err(|e| e.to_string())?;
    let v = dev.driver_version().map_err(|e| e.to_string())?;
    check(v.name == "tern", || format!("driver name '{}'", v.name))?;
    check(!v.desc.is_empty(), || "empty description".into())
}

pub fn open_wrong_node_refused() -> Outcome {
    match tern::Device::open(Path::new("/dev/null")) {
        Err(tern::Error::Ioctl { source, .. }) if source.raw_os_error() == Some(libc::ENOTTY) => {
            Ok(())
        }
        other => Err(format!(
            "opening /dev/null as a TERN device gave {other:?}, want ENOTTY"
        )),
    }
}
