// SPDX-License-Identifier: MIT OR Apache-2.0
//! Guest memory as the device sees it: the DMA windows QEMU maps with DMA_MAP messages.
//!
//! With guest RAM on a shared memory backend each DMA_MAP carries an fd; the model maps it
//! into its own address space and DMA is a memcpy.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::RwLock;

/// A DMA access that no mapped window covers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("DMA to unmapped address {addr:#x} (+{len:#x})")]
pub struct DmaFault {
    /// First byte of the access.
    pub addr: u64,
    /// Length of the access.
    pub len: u64,
}

struct Window {
    iova: u64,
    len: u64,
    host: *mut u8,
}

// SAFETY: `host` points at a private shared mapping owned by the window and unmapped only in
// `Drop`; accesses through it are plain byte copies done under the `GuestMemory` lock.
unsafe impl Send for Window {}
// SAFETY: see `Send`; the window itself is never mutated after creation.
unsafe impl Sync for Window {}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: `host`/`len` are exactly what mmap returned and are unmapped only here.
        unsafe { libc::munmap(self.host.cast(), self.len as usize) };
    }
}

/// The set of DMA windows.
#[derive(Default)]
pub struct GuestMemory {
    windows: RwLock<Vec<Window>>,
}

impl GuestMemory {
    /// Maps `len` bytes of `fd` at file offset `offset` as the window for `iova`.
    pub fn map(&self, iova: u64, len: u64, offset: u64, fd: Option<File>) -> std::io::Result<()> {
        let einval = || std::io::Error::from_raw_os_error(libc::EINVAL);
        let Some(fd) = fd else {
            log::warn!("dma: window {iova:#x}+{len:#x} has no fd; DMA to it will fault");
            return Ok(());
        };
        if len == 0 || iova.checked_add(len).is_none() {
            return Err(einval());
        }
        // SAFETY: a fresh shared mapping of a file QEMU gave us; the kernel checks the range.
        let host = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if host == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let w = Window {
            iova,
            len,
            host: host.cast(),
        };
        let mut ws = self.windows.write().unwrap_or_else(|e| e.into_inner());
        ws.retain(|o| o.iova + o.len <= iova || iova + len <= o.iova);
        ws.push(w);
        log::debug!("dma: mapped {iova:#x}+{len:#x}");
        Ok(())
    }

    /// Removes the windows inside `[iova, iova + len)`.
    pub fn unmap(&self, iova: u64, len: u64) {
        let end = iova.saturating_add(len);
        let mut ws = self.windows.write().unwrap_or_else(|e| e.into_inner());
        ws.retain(|w| !(w.iova >= iova && w.iova + w.len <= end));
    }

    /// Removes every window.
    pub fn clear(&self) {
        self.windows
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn with_window<R>(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(*mut u8) -> R,
    ) -> Result<R, DmaFault> {
        let fault = DmaFault {
            addr,
            len: len as u64,
        };
        let ws = self.windows.read().unwrap_or_else(|e| e.into_inner());
        let end = addr.checked_add(len as u64).ok_or(fault.clone())?;
        let w = ws
            .iter()
            .find(|w| addr >= w.iova && end <= w.iova + w.len)
            .ok_or(fault)?;
        // SAFETY: `addr - w.iova + len <= w.len` was checked above, so the pointer stays
        // inside the mapping, which lives as long as the read lock is held.
        Ok(f(unsafe { w.host.add((addr - w.iova) as usize) }))
    }

    /// Copies guest memory at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        self.with_window(addr, buf.len(), |p| {
            // SAFETY: `p` covers `buf.len()` mapped bytes (see `with_window`); the guest may
            // change them concurrently, which a byte copy tolerates.
            unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) }
        })
    }

    /// Copies `buf` into guest memory at `addr`.
    pub fn write(&self, addr: u64, buf: &[u8]) -> Result<(), DmaFault> {
        self.with_window(addr, buf.len(), |p| {
            // SAFETY: as in `read`, the destination covers `buf.len()` mapped bytes.
            unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), p, buf.len()) }
        })
    }
}

impl Clone for DmaFault {
    fn clone(&self) -> Self {
        DmaFault {
            addr: self.addr,
            len: self.len,
        }
    }
}

impl GuestMemory {
    /// Copies `len` bytes from `src` to `dst` inside guest memory, one memcpy when both lie in
    /// mapped windows.
    pub fn copy(&self, dst: u64, src: u64, len: u64) -> Result<(), DmaFault> {
        let ws = self.windows.read().unwrap_or_else(|e| e.into_inner());
        let find = |a: u64| {
            let end = a.checked_add(len)?;
            ws.iter().find(|w| a >= w.iova && end <= w.iova + w.len)
        };
        let s = find(src).ok_or(DmaFault { addr: src, len })?;
        let d = find(dst).ok_or(DmaFault { addr: dst, len })?;
        // SAFETY: both ranges were checked to lie inside live mappings (held by the read
        // lock); `copy` (memmove) tolerates overlap.
        unsafe {
            std::ptr::copy(
                s.host.add((src - s.iova) as usize),
                d.host.add((dst - d.iova) as usize),
                len as usize,
            )
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memfd(len: u64) -> File {
        // SAFETY: memfd_create with a valid C string; the returned fd is owned by the File.
        let fd = unsafe { libc::memfd_create(c"t".as_ptr(), 0) };
        assert!(fd >= 0);
        use std::os::fd::FromRawFd;
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let f = unsafe { File::from_raw_fd(fd) };
        f.set_len(len).unwrap();
        f
    }

    #[test]
    fn read_write_inside_window() {
        let m = GuestMemory::default();
        m.map(0x10000, 0x2000, 0, Some(memfd(0x2000))).unwrap();
        m.write(0x10ffe, &[1, 2, 3, 4]).unwrap();
        let mut b = [0u8; 4];
        m.read(0x10ffe, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
    }

    #[test]
    fn outside_window_faults() {
        let m = GuestMemory::default();
        m.map(0x10000, 0x1000, 0, Some(memfd(0x1000))).unwrap();
        assert_eq!(
            m.write(0x10ffe, &[0; 4]),
            Err(DmaFault {
                addr: 0x10ffe,
                len: 4
            })
        );
        assert!(m.read(u64::MAX - 1, &mut [0; 4]).is_err());
        m.unmap(0x10000, 0x1000);
        assert!(m.read(0x10000, &mut [0; 1]).is_err());
    }
}
