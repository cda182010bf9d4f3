// SPDX-License-Identifier: MIT OR Apache-2.0
//! Opening TERN devices: by path, or by discovery through sysfs.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use tern_uapi as uapi;

use crate::error::{Error, Result};
use crate::ioctl::ioctl;

/// What `DRM_IOCTL_VERSION` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverVersion {
    /// Driver name (`tern`).
    pub name: String,
    /// Driver description.
    pub desc: String,
    /// Major, minor and patch level.
    pub version: (i32, i32, i32),
}

/// An open TERN accelerator.
#[derive(Debug)]
pub struct Device {
    file: File,
    path: PathBuf,
}

/// The accel nodes in `/dev/accel` whose PCI function is a TERN device, in order.
pub fn discover() -> Vec<PathBuf> {
    discover_in(Path::new("/sys/class/accel"), Path::new("/dev/accel"))
}

fn discover_in(class: &Path, dev: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(class) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let pci = e.path().join("device");
            let id = |f: &str| {
                std::fs::read_to_string(pci.join(f))
                    .ok()
                    .map(|s| s.trim().to_owned())
            };
            id("vendor").as_deref() == Some(&format!("{:#06x}", tern_hw::pci::VENDOR_ID))
                && id("device").as_deref() == Some(&format!("{:#06x}", tern_hw::pci::DEVICE_ID))
        })
        .map(|e| dev.join(e.file_name()))
        .collect();
    found.sort();
    found
}

impl AsFd for Device {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Device {
    /// Opens the first TERN device found by [`discover`].
    pub fn open_first() -> Result<Device> {
        let path = discover().into_iter().next().ok_or(Error::NoDevice)?;
        Device::open(&path)
    }

    /// Opens the device node at `path` and checks that the tern driver owns it.
    pub fn open(path: &Path) -> Result<Device> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::open(path.to_owned(), e))?;
        let dev = Device {
            file,
            path: path.to_owned(),
        };
        let v = dev.driver_version()?;
        if v.name.as_bytes() != &uapi::DRM_TERN_DRIVER_NAME[..uapi::DRM_TERN_DRIVER_NAME.len() - 1]
        {
            return Err(Error::NotTern {
                path: path.to_owned(),
                driver: v.name,
            });
        }
        Ok(dev)
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The node this device was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Driver name, description and version (`DRM_IOCTL_VERSION`).
    pub fn driver_version(&self) -> Result<DriverVersion> {
        let mut name = [0u8; 64];
        let mut desc = [0u8; 256];
        let mut date = [0u8; 64];
        let mut v = uapi::drm_version {
            name_len: name.len() as _,
            name: name.as_mut_ptr().cast(),
            date_len: date.len() as _,
            date: date.as_mut_ptr().cast(),
            desc_len: desc.len() as _,
            desc: desc.as_mut_ptr().cast(),
            ..Default::default()
        };
        ioctl(
            self.file.as_fd(),
            "DRM_IOCTL_VERSION",
            uapi::DRM_IOCTL_VERSION,
            &mut v,
        )?;
        let text = |b: &[u8], n: usize| String::from_utf8_lossy(&b[..n.min(b.len())]).into_owned();
        Ok(DriverVersion {
            name: text(&name, v.name_len as usize),
            desc: text(&desc, v.desc_len as usize),
            version: (v.version_major, v.version_minor, v.version_patchlevel),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_matches_pci_ids_only() {
        let t = std::env::temp_dir().join(format!("tern-disc-{}", std::process::id()));
        let mk = |node: &str, vendor: &str, device: &str| {
            let d = t.join("class").join(node).join("device");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("vendor"), format!("{vendor}\n")).unwrap();
            std::fs::write(d.join("device"), format!("{device}\n")).unwrap();
        };
        mk("accel1", "0x1234", "0x7e50");
        mk("accel0", "0x1234", "0x7e50");
        mk("accel2", "0x8086", "0x7e50");
        mk("accel3", "0x1234", "0x11e8");
        let found = discover_in(&t.join("class"), Path::new("/dev/accel"));
        assert_eq!(
            found,
            [
                PathBuf::from("/dev/accel/accel0"),
                PathBuf::from("/dev/accel/accel1")
            ]
        );
        std::fs::remove_dir_all(&t).unwrap();
        assert!(discover_in(&t, Path::new("/dev/accel")).is_empty());
    }

    #[test]
    fn open_missing_node_names_the_fix() {
        let e = Device::open(Path::new("/nonexistent/accel9")).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(e.to_string().contains("tern module"), "{e}");
    }

    #[test]
    fn open_non_drm_file_is_an_ioctl_error() {
        let e = Device::open(Path::new("/dev/null")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Ioctl {
                    ioctl: "DRM_IOCTL_VERSION",
                    ..
                }
            ),
            "{e}"
        );
    }
}
