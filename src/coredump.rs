// SPDX-License-Identifier: GPL-2.0

//! Device coredumps: the state of the device when a recovery began, left in
//! `/sys/class/devcoredump/devcdN/data` (`docs/driver.md`, "Device coredump", gives the format;
//! `tern coredump` decodes it).

use kernel::{
    alloc::VVec,
    devcoredump, fmt,
    io::Io,
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    },
};

use crate::{
    queue::QueueDump,
    regs::{
        self,
        NUM_QUEUES, //
    },
    shared::Shared,
};

/// First bytes of a dump.
const MAGIC: &[u8; 8] = b"TERNDUMP";
/// Format version.
const VERSION: u32 = 1;
/// Section: (offset, value) pairs of readable registers.
const SEC_REGISTERS: u32 = 1;
/// Section: per queue, the completion area header and the driver's ring state.
const SEC_QUEUES: u32 = 2;
/// Section: the descriptor of the job the queue ran.
const SEC_JOB: u32 = 3;
/// Section: the program of that job, from its buffer.
const SEC_PROGRAM: u32 = 4;
/// Section: the firmware log, oldest byte first.
const SEC_FW_LOG: u32 = 5;
/// Most program bytes kept.
const MAX_PROGRAM: usize = 4096;

/// Device registers worth reading (the write-only and trigger ones are left out).
const DEVICE_REGS: [usize; 18] = [
    regs::ID,
    regs::HW_VERSION,
    regs::CAPS,
    regs::QUEUE_COUNT,
    regs::DEV_STATUS,
    regs::BOOT_STATUS,
    regs::FW_VERSION,
    regs::FW_ABI,
    regs::SCRATCH,
    regs::ABI_SELECT,
    regs::BOOT_ADDR_LO,
    regs::BOOT_ADDR_HI,
    regs::BOOT_SIZE,
    regs::EVENT_ADDR_LO,
    regs::EVENT_ADDR_HI,
    regs::CTX_TABLE_LO,
    regs::CTX_TABLE_HI,
    regs::CTX_COUNT,
];

/// Readable registers of each queue.
const QUEUE_REGS: [usize; 8] = [
    regs::Q_RING_LO,
    regs::Q_RING_HI,
    regs::Q_RING_SIZE,
    regs::Q_COMPL_LO,
    regs::Q_COMPL_HI,
    regs::Q_CTRL,
    regs::Q_STATUS,
    regs::Q_PRIORITY,
];

/// Why a recovery began.
#[derive(Clone, Copy)]
pub(crate) enum Reason {
    /// Queue q ran a job that made no progress (or a queue reset was forced).
    Hang(u32),
    /// The firmware crashed with this code.
    Crash(u32),
    /// A device reset was forced.
    Forced,
    /// Resetting queue q failed.
    QueueResetFailed(u32),
}

impl Reason {
    /// (code, detail) in the dump header.
    fn code(self) -> (u32, u32) {
        match self {
            Reason::Hang(q) => (1, q),
            Reason::Crash(c) => (2, c),
            Reason::Forced => (3, 0),
            Reason::QueueResetFailed(q) => (4, q),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Hang(q) => write!(f, "queue {q} hung"),
            Reason::Crash(c) => write!(f, "firmware crash (code {c:#x})"),
            Reason::Forced => write!(f, "forced reset"),
            Reason::QueueResetFailed(q) => write!(f, "queue {q} did not reset"),
        }
    }
}

/// A dump being written.
struct Writer {
    buf: VVec<u8>,
    sections: u32,
}

impl Writer {
    fn bytes(&mut self, b: &[u8]) -> Result {
        self.buf.extend_from_slice(b, GFP_KERNEL)?;
        Ok(())
    }

    fn u32(&mut self, v: u32) -> Result {
        self.bytes(&v.to_le_bytes())
    }

    fn u64(&mut self, v: u64) -> Result {
        self.bytes(&v.to_le_bytes())
    }

    /// Starts section `tag` of `len` payload bytes.
    fn section(&mut self, tag: u32, len: usize) -> Result {
        self.sections += 1;
        self.u32(tag)?;
        self.u32(u32::try_from(len).map_err(|_| EINVAL)?)
    }

    /// Pads the payload just written to 8 bytes.
    fn pad(&mut self) -> Result {
        while self.buf.len() % 8 != 0 {
            self.bytes(&[0])?;
        }
        Ok(())
    }
}

/// Captures the device's state now, before a recovery changes it; `None` if memory ran out.
pub(crate) fn capture(shared: &Shared, reason: Reason) -> Option<VVec<u8>> {
    build(shared, reason).ok()
}

fn build(shared: &Shared, reason: Reason) -> Result<VVec<u8>> {
    let mut w = Writer {
        buf: VVec::with_capacity(8192, GFP_KERNEL)?,
        sections: 0,
    };
    let (code, detail) = reason.code();
    w.bytes(MAGIC)?;
    w.u32(VERSION)?;
    w.u32(code)?;
    w.u32(detail)?;
    // Section count, patched at the end.
    w.u32(0)?;
    // CAST: Monotonic time since boot is positive.
    w.u64(Instant::<Monotonic>::now().as_nanos() as u64)?;

    // Registers.
    let mut pairs = KVec::with_capacity(
        DEVICE_REGS.len() + NUM_QUEUES * QUEUE_REGS.len(),
        GFP_KERNEL,
    )?;
    if let Some(bar) = shared.bar.try_access() {
        let offsets = Iterator::chain(
            DEVICE_REGS.iter().copied(),
            (0..NUM_QUEUES).flat_map(|q| QUEUE_REGS.iter().map(move |&r| regs::queue_reg(q, r))),
        );
        for off in offsets {
            if let Ok(v) = bar.try_read32(off) {
                // CAST: BAR0 offsets are below 8 KiB. No allocation under the RCU read lock:
                // the capacity is there.
                if pairs.push_within_capacity((off as u32, v)).is_err() {
                    break;
                }
            }
        }
    }
    w.section(SEC_REGISTERS, pairs.len() * 8)?;
    for (off, v) in pairs.iter() {
        w.u32(*off)?;
        w.u32(*v)?;
    }

    // Queues.
    let dumps: KVec<QueueDump> = {
        let mut v = KVec::with_capacity(NUM_QUEUES, GFP_KERNEL)?;
        for q in &shared.queues {
            v.push(q.dump(), GFP_KERNEL)?;
        }
        v
    };
    w.section(SEC_QUEUES, dumps.len() * 48)?;
    for (q, d) in dumps.iter().enumerate() {
        // CAST: Below `NUM_QUEUES`.
        w.u32(q as u32)?;
        w.u32(d.head)?;
        w.u32(d.error)?;
        w.u32(d.held)?;
        w.u64(d.fence)?;
        w.u64(d.progress)?;
        w.u64(d.retired)?;
        w.u64(d.submitted)?;
    }

    // The job the queue ran, and its program.
    let queue = match reason {
        Reason::Hang(q) | Reason::QueueResetFailed(q) => Some(q as usize),
        _ => None,
    };
    if let Some(job) = queue
        .and_then(|q| shared.queues.get(q))
        .and_then(|q| q.running_job())
    {
        w.section(SEC_JOB, 32)?;
        w.u32(queue.unwrap_or(0) as u32)?;
        w.u32(job.desc.context)?;
        w.u64(job.ring_seqno)?;
        w.u64(job.desc.cmd_va)?;
        w.u32(job.desc.cmd_len)?;
        w.u32(job.desc.budget)?;
        if let Some((bo, offset)) = job.program {
            let mut prog = KVec::new();
            if let Ok(map) = bo.vmap::<0>() {
                // CAST: Offsets inside a buffer fit in usize.
                let start = offset as usize;
                let len = (job.desc.cmd_len as usize).min(MAX_PROGRAM);
                for i in (0..len).step_by(8) {
                    match map.try_read64(start + i) {
                        Ok(word) => prog.extend_from_slice(&word.to_le_bytes(), GFP_KERNEL)?,
                        Err(_) => break,
                    }
                }
            }
            w.section(SEC_PROGRAM, 8 + prog.len())?;
            w.u64(job.desc.cmd_va)?;
            w.bytes(&prog)?;
            w.pad()?;
        }
    }

    // Firmware log.
    let log = fw_log(shared)?;
    w.section(SEC_FW_LOG, log.len())?;
    w.bytes(&log)?;
    w.pad()?;

    let count = w.sections.to_le_bytes();
    if let Some(slot) = w.buf.get_mut(20..24) {
        slot.copy_from_slice(&count);
    }
    Ok(w.buf)
}

/// The firmware log (`docs/hardware.md` 6.2), oldest byte first.
pub(crate) fn fw_log(shared: &Shared) -> Result<KVec<u8>> {
    let byte = |at: usize| -> u8 {
        let word = shared.events.read(at / 8).unwrap_or(0);
        // CAST: One byte of the little-endian word.
        (word >> (8 * (at % 8))) as u8
    };
    let count_at = regs::EVENT_LOG_BYTES;
    // CAST: `log_bytes` is the high half of its word.
    let total = (shared.events.read(count_at / 8).unwrap_or(0) >> 32) as u32 as usize;
    let len = total.min(regs::EVENT_LOG_LEN);
    let first = total - len;
    let mut out = KVec::with_capacity(len, GFP_KERNEL)?;
    for i in first..total {
        out.push(byte(regs::EVENT_LOG + i % regs::EVENT_LOG_LEN), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Hands a captured dump to the devcoredump framework.
pub(crate) fn emit(shared: &Shared, dump: Option<VVec<u8>>) {
    if let Some(dump) = dump {
        devcoredump::dev_coredumpv(&shared.dev, dump);
    }
}
