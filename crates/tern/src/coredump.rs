// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding the device coredumps the driver leaves after a recovery
//! (`/sys/class/devcoredump/devcdN/data`; the format is in `docs/driver.md`, "Device coredump").

use std::fmt::Write as _;

/// Why the driver recovered the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A job on this queue made no progress (or a queue reset was forced).
    Hang {
        /// The queue.
        queue: u32,
    },
    /// The firmware crashed.
    Crash {
        /// Its crash code.
        code: u32,
    },
    /// A device reset was forced.
    Forced,
    /// Resetting this queue failed, so the device was reset.
    QueueResetFailed {
        /// The queue.
        queue: u32,
    },
}

/// A queue's state in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    /// Queue index.
    pub index: u32,
    /// Completion area `head`.
    pub head: u32,
    /// Completion area `error`.
    pub error: u32,
    /// Ring jobs held for a restart.
    pub held: u32,
    /// Completion area `fence`.
    pub fence: u64,
    /// Completion area `progress`.
    pub progress: u64,
    /// Last ring sequence number the driver retired.
    pub retired: u64,
    /// Last ring sequence number the driver submitted.
    pub submitted: u64,
}

/// The job the queue ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobState {
    /// Queue index.
    pub queue: u32,
    /// MMU context.
    pub context: u32,
    /// Ring sequence number.
    pub ring_seqno: u64,
    /// Program VA.
    pub cmd_va: u64,
    /// Program length.
    pub cmd_len: u32,
    /// Instruction budget (0: default).
    pub budget: u32,
}

/// A decoded dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coredump {
    /// Why it was taken.
    pub reason: Reason,
    /// `CLOCK_MONOTONIC` time it was taken, in ns.
    pub time_ns: u64,
    /// (BAR0 offset, value) of each register read.
    pub registers: Vec<(u32, u32)>,
    /// Every queue.
    pub queues: Vec<QueueState>,
    /// The job the hung queue ran.
    pub job: Option<JobState>,
    /// Its program: VA and bytes.
    pub program: Option<(u64, Vec<u8>)>,
    /// The firmware log, oldest line first.
    pub fw_log: String,
}

const MAGIC: &[u8; 8] = b"TERNDUMP";

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

impl Coredump {
    /// Decodes a dump.
    pub fn parse(b: &[u8]) -> Result<Coredump, String> {
        if b.get(..8) != Some(&MAGIC[..]) {
            return Err("not a TERN coredump (bad magic)".into());
        }
        let version = u32_at(b, 8)?;
        if version != 1 {
            return Err(format!(
                "coredump format version {version}, this tool reads 1"
            ));
        }
        let (code, detail) = (u32_at(b, 12)?, u32_at(b, 16)?);
        let reason = match code {
            1 => Reason::Hang { queue: detail },
            2 => Reason::Crash { code: detail },
            3 => Reason::Forced,
            4 => Reason::QueueResetFailed { queue: detail },
            c => return Err(format!("unknown reason {c}")),
        };
        let sections = u32_at(b, 20)?;
        let mut d = Coredump {
            reason,
            time_ns: u64_at(b, 24)?,
            registers: Vec::new(),
            queues: Vec::new(),
            job: None,
            program: None,
            fw_log: String::new(),
        };
        let mut at = 32;
        for _ in 0..sections {
            let tag = u32_at(b, at)?;
            let len = u32_at(b, at + 4)? as usize;
            let p = b
                .get(at + 8..at + 8 + len)
                .ok_or_else(|| format!("section {tag} runs past the end"))?;
            match tag {
                1 => {
                    for i in (0..len / 8).map(|i| i * 8) {
                        d.registers.push((u32_at(p, i)?, u32_at(p, i + 4)?));
                    }
                }
                2 => {
                    for i in (0..len / 48).map(|i| i * 48) {
                        d.queues.push(QueueState {
                            index: u32_at(p, i)?,
                            head: u32_at(p, i + 4)?,
                            error: u32_at(p, i + 8)?,
                            held: u32_at(p, i + 12)?,
                            fence: u64_at(p, i + 16)?,
                            progress: u64_at(p, i + 24)?,
                            retired: u64_at(p, i + 32)?,
                            submitted: u64_at(p, i + 40)?,
                        });
                    }
                }
                3 => {
                    d.job = Some(JobState {
                        queue: u32_at(p, 0)?,
                        context: u32_at(p, 4)?,
                        ring_seqno: u64_at(p, 8)?,
                        cmd_va: u64_at(p, 16)?,
                        cmd_len: u32_at(p, 24)?,
                        budget: u32_at(p, 28)?,
                    })
                }
                4 => d.program = Some((u64_at(p, 0)?, p.get(8..).unwrap_or_default().to_vec())),
                5 => d.fw_log = String::from_utf8_lossy(p).into_owned(),
                // Sections a later version adds are skipped.
                _ => {}
            }
            at += 8 + len.next_multiple_of(8);
        }
        Ok(d)
    }

    /// A readable report: reason, registers, queues, the job and its program (as instruction
    /// words), the firmware log.
    pub fn report(&self) -> String {
        let mut o = String::new();
        let reason = match self.reason {
            Reason::Hang { queue } => format!("queue {queue} made no progress"),
            Reason::Crash { code } => format!("firmware crash, code {code:#x}"),
            Reason::Forced => "forced device reset".to_string(),
            Reason::QueueResetFailed { queue } => format!("queue {queue} did not reset"),
        };
        let _ = writeln!(o, "TERN coredump: {reason}, at {} ns", self.time_ns);
        let _ = writeln!(o, "\nregisters:");
        for (off, v) in &self.registers {
            let _ = writeln!(o, "  {:<14} {off:#06x} = {v:#010x}", register_name(*off));
        }
        let _ = writeln!(o, "\nqueues:");
        for q in &self.queues {
            let _ = writeln!(
                o,
                "  queue {}: fence {} progress {} head {} error {} (driver: retired {}, submitted {}, held {})",
                q.index, q.fence, q.progress, q.head, q.error, q.retired, q.submitted, q.held
            );
        }
        if let Some(j) = &self.job {
            let _ = writeln!(
                o,
                "\njob: queue {} ring seqno {} context {} program {:#x} ({} bytes), budget {}",
                j.queue, j.ring_seqno, j.context, j.cmd_va, j.cmd_len, j.budget
            );
        }
        if let Some((va, bytes)) = &self.program {
            let _ = writeln!(o, "\nprogram at {va:#x} ({} bytes):", bytes.len());
            for (i, w) in bytes.chunks(8).enumerate() {
                let mut word = [0u8; 8];
                word[..w.len()].copy_from_slice(w);
                let _ = writeln!(o, "  {i:4}: {:#018x}", u64::from_le_bytes(word));
            }
        }
        let _ = writeln!(o, "\nfirmware log:");
        o.push_str(&self.fw_log);
        o
    }
}

/// The manual's name of BAR0 register `off`.
pub fn register_name(off: u32) -> String {
    const DEV: [(u32, &str); 18] = [
        (0x000, "ID"),
        (0x004, "HW_VERSION"),
        (0x008, "CAPS"),
        (0x00c, "QUEUE_COUNT"),
        (0x010, "DEV_STATUS"),
        (0x014, "BOOT_STATUS"),
        (0x018, "FW_VERSION"),
        (0x01c, "FW_ABI"),
        (0x020, "SCRATCH"),
        (0x028, "ABI_SELECT"),
        (0x030, "BOOT_ADDR_LO"),
        (0x034, "BOOT_ADDR_HI"),
        (0x038, "BOOT_SIZE"),
        (0x040, "EVENT_ADDR_LO"),
        (0x044, "EVENT_ADDR_HI"),
        (0x048, "CTX_TABLE_LO"),
        (0x04c, "CTX_TABLE_HI"),
        (0x050, "CTX_COUNT"),
    ];
    const Q: [&str; 8] = [
        "RING_LO",
        "RING_HI",
        "RING_SIZE",
        "COMPL_LO",
        "COMPL_HI",
        "CTRL",
        "STATUS",
        "PRIORITY",
    ];
    if let Some((_, n)) = DEV.iter().find(|(o, _)| *o == off) {
        return (*n).to_string();
    }
    if (0x100..0x200).contains(&off) {
        let (q, r) = ((off - 0x100) / 0x40, (off - 0x100) % 0x40);
        if let Some(n) = Q.get(r as usize / 4) {
            return format!("Q{q}_{n}");
        }
    }
    format!("{off:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(out: &mut Vec<u8>, tag: u32, payload: &[u8]) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }

    /// A dump laid out as `docs/driver.md` describes it.
    fn sample() -> Vec<u8> {
        let mut d = b"TERNDUMP".to_vec();
        for v in [1u32, 1, 5, 6] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&123u64.to_le_bytes());
        let regs: Vec<u8> = [(0x10u32, 3u32), (0x11c, 2)]
            .iter()
            .flat_map(|(o, v)| [o.to_le_bytes(), v.to_le_bytes()].concat())
            .collect();
        section(&mut d, 1, &regs);
        let mut q = Vec::new();
        for v in [2u32, 7, 0, 1] {
            q.extend_from_slice(&v.to_le_bytes());
        }
        for v in [6u64, 99, 5, 9] {
            q.extend_from_slice(&v.to_le_bytes());
        }
        section(&mut d, 2, &q);
        let mut j = Vec::new();
        j.extend_from_slice(&2u32.to_le_bytes());
        j.extend_from_slice(&4u32.to_le_bytes());
        j.extend_from_slice(&6u64.to_le_bytes());
        j.extend_from_slice(&0x20_0000u64.to_le_bytes());
        j.extend_from_slice(&8u32.to_le_bytes());
        j.extend_from_slice(&0u32.to_le_bytes());
        section(&mut d, 3, &j);
        let mut p = 0x20_0000u64.to_le_bytes().to_vec();
        p.extend_from_slice(&0x0000_0001u64.to_le_bytes());
        section(&mut d, 4, &p);
        section(&mut d, 9, b"a section from a later version");
        section(&mut d, 5, b"[        42] boot: firmware 1.0.0 running\n");
        d
    }

    #[test]
    fn decodes_every_section() {
        let d = Coredump::parse(&sample()).expect("decodes");
        assert_eq!(d.reason, Reason::Hang { queue: 5 });
        assert_eq!(d.time_ns, 123);
        assert_eq!(d.registers, vec![(0x10, 3), (0x11c, 2)]);
        assert_eq!(d.queues.len(), 1);
        assert_eq!(
            (d.queues[0].index, d.queues[0].head, d.queues[0].fence),
            (2, 7, 6)
        );
        assert_eq!(d.queues[0].submitted, 9);
        let j = d.job.expect("job");
        assert_eq!(
            (j.queue, j.context, j.ring_seqno, j.cmd_va, j.cmd_len),
            (2, 4, 6, 0x20_0000, 8)
        );
        assert_eq!(d.program, Some((0x20_0000, 1u64.to_le_bytes().to_vec())));
        assert!(d.fw_log.contains("boot: firmware"));
        let r = d.report();
        assert!(r.contains("queue 5 made no progress"), "{r}");
        assert!(r.contains("DEV_STATUS") && r.contains("Q0_PRIORITY"), "{r}");
    }

    #[test]
    fn refuses_what_is_not_a_dump() {
        assert!(Coredump::parse(b"not a dump at all, not at all").is_err());
        let mut d = sample();
        d[8] = 2;
        assert!(Coredump::parse(&d).unwrap_err().contains("version 2"));
        let d = sample();
        assert!(Coredump::parse(&d[..40]).is_err(), "truncated");
        let mut d = sample();
        d[12] = 9;
        assert!(Coredump::parse(&d).is_err(), "unknown reason");
    }
}
