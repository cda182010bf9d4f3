// SPDX-License-Identifier: MIT OR Apache-2.0
//! Guest memory as the device sees it: the DMA windows QEMU maps with DMA_MAP messages.
//!
//! With guest RAM on a shared memory backend each DMA_MAP carries an fd; the model maps it
//! into its own address space and DMA is a memcpy. A window that comes without an fd is kept
//! as a "message path" window: accesses to it go to the client as DMA_READ/DMA_WRITE
//! messages through the session's [`MessagePath`] (`proxy.rs`).
//!
//! Guest memory may change under the device at any time (the guest's CPUs run meanwhile), so
//! it is only ever touched with volatile accesses ([`volatile_read`], [`volatile_write`],
//! [`volatile_move`]): aligned 8-byte loads and stores the compiler may not merge, repeat or
//! leave out, and never a Rust reference to it.

use std::cell::RefCell;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

thread_local! {
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Sets the calling thread's cancel flag: while it is set, message-path requests of this
/// thread stop waiting for the client's reply and fail (a queue or device reset must not wait
/// out a slow client).
pub fn set_cancel(flag: Option<Arc<AtomicBool>>) {
    CANCEL.with(|c| *c.borrow_mut() = flag);
}

/// True when the calling thread's cancel flag is set.
pub fn cancelled() -> bool {
    CANCEL.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    })
}

/// Copies `len` bytes from guest memory at `src` into private memory at `dst`.
///
/// # Safety
/// `src` must be valid for `len` bytes of reads, `dst` for `len` bytes of writes, and the
/// ranges must not overlap; `dst` must not be accessed by anyone else meanwhile.
pub unsafe fn volatile_read(dst: *mut u8, src: *const u8, len: usize) {
    let mut i = 0;
    // SAFETY: (whole body) every access is inside the ranges the caller vouches for; guest
    // side accesses are volatile and aligned, private side ones may be unaligned.
    unsafe {
        while i < len && !(src as usize + i).is_multiple_of(8) {
            *dst.add(i) = src.add(i).read_volatile();
            i += 1;
        }
        while i + 8 <= len {
            let v = src.add(i).cast::<u64>().read_volatile();
            dst.add(i).cast::<u64>().write_unaligned(v);
            i += 8;
        }
        while i < len {
            *dst.add(i) = src.add(i).read_volatile();
            i += 1;
        }
    }
}

/// Copies `len` bytes from private memory at `src` into guest memory at `dst`.
///
/// # Safety
/// As [`volatile_read`], with the roles swapped.
pub unsafe fn volatile_write(dst: *mut u8, src: *const u8, len: usize) {
    let mut i = 0;
    // SAFETY: as in `volatile_read`.
    unsafe {
        while i < len && !(dst as usize + i).is_multiple_of(8) {
            dst.add(i).write_volatile(*src.add(i));
            i += 1;
        }
        while i + 8 <= len {
            let v = src.add(i).cast::<u64>().read_unaligned();
            dst.add(i).cast::<u64>().write_volatile(v);
            i += 8;
        }
        while i < len {
            dst.add(i).write_volatile(*src.add(i));
            i += 1;
        }
    }
}

/// Copies `len` bytes between two ranges of guest memory (which may overlap, like memmove):
/// directly with aligned volatile words when both sides have the same alignment, through a
/// private buffer otherwise.
///
/// # Safety
/// `src` must be valid for `len` bytes of reads and `dst` for `len` bytes of writes.
pub unsafe fn volatile_move(dst: *mut u8, src: *const u8, len: usize) {
    let (d, s) = (dst as usize, src as usize);
    let backwards = d > s && d < s.saturating_add(len);
    // SAFETY: (whole body) all accesses stay inside the two ranges the caller vouches for.
    unsafe {
        if !backwards && (d ^ s).is_multiple_of(8) {
            let mut i = 0;
            while i < len && !(s + i).is_multiple_of(8) {
                dst.add(i).write_volatile(src.add(i).read_volatile());
                i += 1;
            }
            while i + 8 <= len {
                let v = src.add(i).cast::<u64>().read_volatile();
                dst.add(i).cast::<u64>().write_volatile(v);
                i += 8;
            }
            while i < len {
                dst.add(i).write_volatile(src.add(i).read_volatile());
                i += 1;
            }
            return;
        }
        let mut buf = [0u8; 4096];
        let mut piece = |off: usize| {
            let n = (len - off).min(buf.len());
            volatile_read(buf.as_mut_ptr(), src.add(off), n);
            volatile_write(dst.add(off), buf.as_ptr(), n);
        };
        if backwards {
            let mut off = len.div_ceil(4096) * 4096;
            while off > 0 {
                off -= 4096;
                piece(off);
            }
        } else {
            for off in (0..len).step_by(4096) {
                piece(off);
            }
        }
    }
}

/// Reaches client memory by messages (DMA_READ/DMA_WRITE), for windows without an fd.
pub trait MessagePath: Send + Sync {
    /// Reads client memory at `addr` into `buf`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> std::io::Result<()>;
    /// Writes `buf` to client memory at `addr`.
    fn write(&self, addr: u64, buf: &[u8]) -> std::io::Result<()>;
}

/// A DMA access that no mapped window covers.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
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
    /// The mapping, or null for a message-path window.
    host: *mut u8,
}

// SAFETY: `host` points at a shared mapping owned by the window and unmapped only in `Drop`;
// accesses through it are volatile copies done under the `GuestMemory` lock.
unsafe impl Send for Window {}
// SAFETY: see `Send`; the window itself is never mutated after creation.
unsafe impl Sync for Window {}

impl Drop for Window {
    fn drop(&mut self) {
        if !self.host.is_null() {
            // SAFETY: `host`/`len` are exactly what mmap returned and are unmapped only here.
            unsafe { libc::munmap(self.host.cast(), self.len as usize) };
        }
    }
}

/// The set of DMA windows.
#[derive(Default)]
pub struct GuestMemory {
    windows: RwLock<Vec<Window>>,
    path: RwLock<Option<Arc<dyn MessagePath>>>,
}

/// Bounce buffer size for copies that involve message-path windows.
const BOUNCE: u64 = 1 << 20;

impl GuestMemory {
    /// Sets (or removes) the message path used for windows without an fd.
    pub fn set_path(&self, path: Option<Arc<dyn MessagePath>>) {
        *self.path.write().unwrap_or_else(|e| e.into_inner()) = path;
    }

    fn insert(&self, w: Window) {
        let (iova, len) = (w.iova, w.len);
        let mut ws = self.windows.write().unwrap_or_else(|e| e.into_inner());
        ws.retain(|o| o.iova + o.len <= iova || iova + len <= o.iova);
        ws.push(w);
    }

    /// Maps `len` bytes of `fd` at file offset `offset` as the window for `iova`; without an
    /// fd the window is reached by messages.
    pub fn map(&self, iova: u64, len: u64, offset: u64, fd: Option<File>) -> std::io::Result<()> {
        let einval = || std::io::Error::from_raw_os_error(libc::EINVAL);
        if len == 0 || iova.checked_add(len).is_none() {
            return Err(einval());
        }
        let Some(fd) = fd else {
            log::info!("dma: window {iova:#x}+{len:#x} has no fd; reached by DMA_READ/WRITE");
            self.insert(Window {
                iova,
                len,
                host: std::ptr::null_mut(),
            });
            return Ok(());
        };
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
        self.insert(Window {
            iova,
            len,
            host: host.cast(),
        });
        log::debug!("dma: mapped {iova:#x}+{len:#x}");
        Ok(())
    }

    /// Removes the windows inside `[iova, iova + len)`.
    pub fn unmap(&self, iova: u64, len: u64) {
        let end = iova.saturating_add(len);
        let mut ws = self.windows.write().unwrap_or_else(|e| e.into_inner());
        ws.retain(|w| !(w.iova >= iova && w.iova + w.len <= end));
    }

    /// True when some of `[addr, addr + len)` is in a window reached by messages (one that
    /// came without an fd).
    pub fn reached_by_message(&self, addr: u64, len: u64) -> bool {
        let end = addr.saturating_add(len.max(1));
        let ws = self.windows.read().unwrap_or_else(|e| e.into_inner());
        ws.iter()
            .any(|w| w.host.is_null() && addr < w.iova.saturating_add(w.len) && w.iova < end)
    }

    /// Removes every window.
    pub fn clear(&self) {
        self.windows
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Runs `f` on the host address of `[addr, addr + len)` if one mapped window covers it,
    /// or on `None` if one message-path window does.
    fn with_window<R>(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(Option<*mut u8>) -> R,
    ) -> Result<R, DmaFault> {
        let fault = DmaFault {
            addr,
            len: len as u64,
        };
        let ws = self.windows.read().unwrap_or_else(|e| e.into_inner());
        let end = addr.checked_add(len as u64).ok_or(fault)?;
        let w = ws
            .iter()
            .find(|w| addr >= w.iova && end <= w.iova + w.len)
            .ok_or(fault)?;
        if w.host.is_null() {
            return Ok(f(None));
        }
        // SAFETY: `addr - w.iova + len <= w.len` was checked above, so the pointer stays
        // inside the mapping, which lives as long as the read lock is held.
        Ok(f(Some(unsafe { w.host.add((addr - w.iova) as usize) })))
    }

    /// Runs `f` on the message path (outside the window lock, as it waits for the client).
    fn by_message(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(&dyn MessagePath) -> std::io::Result<()>,
    ) -> Result<(), DmaFault> {
        let fault = DmaFault {
            addr,
            len: len as u64,
        };
        let path = self.path.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(path) = path else {
            log::warn!("dma: {fault}: no message path to the client");
            return Err(fault);
        };
        f(path.as_ref()).map_err(|e| {
            log::warn!("dma: {fault} by message: {e}");
            fault
        })
    }

    /// Copies guest memory at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaFault> {
        let len = buf.len();
        let mapped = self.with_window(addr, len, |p| {
            p.map(|p| {
                // SAFETY: `p` covers `buf.len()` mapped bytes (see `with_window`); the guest
                // may change them concurrently, which volatile accesses tolerate.
                unsafe { volatile_read(buf.as_mut_ptr(), p, buf.len()) }
            })
        })?;
        match mapped {
            Some(()) => Ok(()),
            None => self.by_message(addr, len, |m| m.read(addr, buf)),
        }
    }

    /// Copies `buf` into guest memory at `addr`.
    pub fn write(&self, addr: u64, buf: &[u8]) -> Result<(), DmaFault> {
        let mapped = self.with_window(addr, buf.len(), |p| {
            p.map(|p| {
                // SAFETY: as in `read`, the destination covers `buf.len()` mapped bytes.
                unsafe { volatile_write(p, buf.as_ptr(), buf.len()) }
            })
        })?;
        match mapped {
            Some(()) => Ok(()),
            None => self.by_message(addr, buf.len(), |m| m.write(addr, buf)),
        }
    }
}

impl GuestMemory {
    /// Copies `len` bytes from `src` to `dst` inside guest memory, one memcpy when both lie in
    /// mapped windows, through a bounce buffer when either is reached by messages.
    pub fn copy(&self, dst: u64, src: u64, len: u64) -> Result<(), DmaFault> {
        let ws = self.windows.read().unwrap_or_else(|e| e.into_inner());
        let find = |a: u64| {
            let end = a.checked_add(len)?;
            ws.iter().find(|w| a >= w.iova && end <= w.iova + w.len)
        };
        let s = find(src).ok_or(DmaFault { addr: src, len })?;
        let d = find(dst).ok_or(DmaFault { addr: dst, len })?;
        if s.host.is_null() || d.host.is_null() {
            drop(ws);
            return self.bounce(dst, src, len);
        }
        // SAFETY: both ranges were checked to lie inside live mappings (held by the read
        // lock); `volatile_move` tolerates overlap.
        unsafe {
            volatile_move(
                d.host.add((dst - d.iova) as usize),
                s.host.add((src - s.iova) as usize),
                len as usize,
            )
        };
        Ok(())
    }

    /// `copy` in pieces through a buffer, back to front when `dst` overlaps after `src`.
    fn bounce(&self, dst: u64, src: u64, len: u64) -> Result<(), DmaFault> {
        let mut buf = vec![0u8; len.min(BOUNCE) as usize];
        let pieces: Vec<u64> = (0..len).step_by(BOUNCE as usize).collect();
        let backwards = dst > src && dst < src.saturating_add(len);
        let order: Box<dyn Iterator<Item = &u64>> = if backwards {
            Box::new(pieces.iter().rev())
        } else {
            Box::new(pieces.iter())
        };
        for &off in order {
            let b = &mut buf[..(len - off).min(BOUNCE) as usize];
            let fault = DmaFault { addr: src, len };
            self.read(src.checked_add(off).ok_or(fault)?, b)?;
            self.write(dst.checked_add(off).ok_or(fault)?, b)?;
        }
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
    fn volatile_copies_at_every_alignment() {
        let src: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for so in 0..9 {
            for d_o in 0..9 {
                for len in [0, 1, 7, 8, 9, 63, 100] {
                    let mut dst = vec![0u8; 200];
                    // SAFETY: both ranges lie inside their vectors.
                    unsafe { volatile_read(dst.as_mut_ptr().add(d_o), src.as_ptr().add(so), len) };
                    assert_eq!(dst[d_o..d_o + len], src[so..so + len]);
                    let mut dst = vec![0u8; 200];
                    // SAFETY: as above.
                    unsafe { volatile_write(dst.as_mut_ptr().add(d_o), src.as_ptr().add(so), len) };
                    assert_eq!(dst[d_o..d_o + len], src[so..so + len]);
                    // Overlapping moves inside one buffer, both directions.
                    let mut buf = src.clone();
                    let mut want = src.clone();
                    want.copy_within(so..so + len, d_o + 50);
                    let p = buf.as_mut_ptr();
                    // SAFETY: both ranges lie inside `buf`.
                    unsafe { volatile_move(p.add(d_o + 50), p.add(so), len) };
                    assert_eq!(buf, want, "forward so={so} do={d_o} len={len}");
                    let mut buf = src.clone();
                    let mut want = src.clone();
                    want.copy_within(d_o + 50..d_o + 50 + len, so);
                    let p = buf.as_mut_ptr();
                    // SAFETY: as above.
                    unsafe { volatile_move(p.add(so), p.add(d_o + 50), len) };
                    assert_eq!(buf, want, "backward so={so} do={d_o} len={len}");
                    let mut buf = src.clone();
                    let mut want = src.clone();
                    want.copy_within(so..so + len.min(40), so + 3);
                    let p = buf.as_mut_ptr();
                    // SAFETY: as above.
                    unsafe { volatile_move(p.add(so + 3), p.add(so), len.min(40)) };
                    assert_eq!(buf, want, "close overlap so={so} len={len}");
                }
            }
        }
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

    /// A client memory reached by "messages": a plain buffer at 0x40000.
    struct Fake(std::sync::Mutex<Vec<u8>>);
    impl MessagePath for Fake {
        fn read(&self, addr: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let m = self.0.lock().unwrap();
            let o = (addr - 0x40000) as usize;
            buf.copy_from_slice(&m[o..o + buf.len()]);
            Ok(())
        }
        fn write(&self, addr: u64, buf: &[u8]) -> std::io::Result<()> {
            let mut m = self.0.lock().unwrap();
            let o = (addr - 0x40000) as usize;
            m[o..o + buf.len()].copy_from_slice(buf);
            Ok(())
        }
    }

    #[test]
    fn fdless_window_goes_by_message() {
        let m = GuestMemory::default();
        m.map(0x40000, 0x3000, 0, None).unwrap();
        assert!(m.read(0x40000, &mut [0; 4]).is_err(), "no path yet");
        let fake = Arc::new(Fake(std::sync::Mutex::new(vec![0; 0x3000])));
        m.set_path(Some(fake.clone()));
        m.map(0x10000, 0x1000, 0, Some(memfd(0x1000))).unwrap();
        m.write(0x40010, &[5, 6, 7]).unwrap();
        assert_eq!(fake.0.lock().unwrap()[0x10..0x13], [5, 6, 7]);
        // Mapped to message and back, and an overlapping copy inside the message window.
        m.write(0x10000, &[1, 2, 3, 4]).unwrap();
        m.copy(0x40100, 0x10000, 4).unwrap();
        m.copy(0x40102, 0x40100, 4).unwrap();
        m.copy(0x10800, 0x40100, 6).unwrap();
        let mut b = [0u8; 6];
        m.read(0x10800, &mut b).unwrap();
        assert_eq!(b, [1, 2, 1, 2, 3, 4]);
        assert!(m.read(0x42ffe, &mut [0; 4]).is_err(), "past the window");
    }
}
