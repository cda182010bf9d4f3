// SPDX-License-Identifier: MIT OR Apache-2.0
//! TERN hardware definitions, as written in `docs/hardware.md`.
//!
//! One place for the numbers the device model, the host tests and the userspace tools share.
//! The kernel module keeps its own copy in `src/regs.rs`; `docs/hardware.md` is the reference
//! both follow.

/// PCI identity of the TERN function.
pub mod pci {
    /// Vendor ID: 0x1234, the ID QEMU's own emulated devices use for experiments. See
    /// `docs/hardware.md`, "PCI identity", for why TERN uses it.
    pub const VENDOR_ID: u16 = 0x1234;
    /// Device ID of the TERN accelerator.
    pub const DEVICE_ID: u16 = 0x7e50;
    /// Revision of this hardware model.
    pub const REVISION: u8 = 0x01;
    /// Class code: base 0x12 (processing accelerator), subclass 0, programming interface 0.
    pub const CLASS_CODE: u32 = 0x12_0000;
    /// Size of BAR0 in bytes.
    pub const BAR0_SIZE: u64 = 0x2000;
    /// Number of MSI-X vectors.
    pub const MSIX_VECTORS: u16 = 8;
    /// Offset of the MSI-X table in BAR0.
    pub const MSIX_TABLE_OFFSET: u32 = 0x800;
    /// Offset of the MSI-X pending-bit array in BAR0.
    pub const MSIX_PBA_OFFSET: u32 = 0xc00;
}

/// BAR0 register offsets. All registers are 32 bits wide and little-endian.
pub mod regs {
    /// RO: `'TERN'` in little-endian byte order.
    pub const ID: u64 = 0x000;
    /// RO: hardware version, major in bits 31:16, minor in bits 15:0.
    pub const HW_VERSION: u64 = 0x004;
    /// RO: capability bits (see [`super::caps`]).
    pub const CAPS: u64 = 0x008;
    /// RO: number of hardware queues.
    pub const QUEUE_COUNT: u64 = 0x00c;
    /// RW: scratch register with no side effects.
    pub const SCRATCH: u64 = 0x020;
    /// WO: writing N raises MSI-X vector N (interrupt path self-test).
    pub const IRQ_RAISE: u64 = 0x024;

    /// Value of [`ID`].
    pub const ID_VALUE: u32 = u32::from_le_bytes(*b"TERN");
    /// Value of [`HW_VERSION`]: 1.0.
    pub const HW_VERSION_VALUE: u32 = 1 << 16;

    /// RO: device state bits ([`super::dev_status`]).
    pub const DEV_STATUS: u64 = 0x010;
    /// RO: boot ROM status code.
    pub const BOOT_STATUS: u64 = 0x014;
    /// RO: running firmware version.
    pub const FW_VERSION: u64 = 0x018;
    /// RO: firmware ABI range, min in 31:16, max in 15:0.
    pub const FW_ABI: u64 = 0x01c;
    /// RW: ABI the driver speaks.
    pub const ABI_SELECT: u64 = 0x028;
    /// RW: firmware image DMA address, low half.
    pub const BOOT_ADDR_LO: u64 = 0x030;
    /// RW: high half.
    pub const BOOT_ADDR_HI: u64 = 0x034;
    /// RW: firmware image size.
    pub const BOOT_SIZE: u64 = 0x038;
    /// W1S: bit 0 starts the boot ROM.
    pub const BOOT_CTRL: u64 = 0x03c;
    /// RW: event page DMA address, low half.
    pub const EVENT_ADDR_LO: u64 = 0x040;
    /// RW: high half.
    pub const EVENT_ADDR_HI: u64 = 0x044;
    /// RW: context table DMA address, low half.
    pub const CTX_TABLE_LO: u64 = 0x048;
    /// RW: high half.
    pub const CTX_TABLE_HI: u64 = 0x04c;
    /// RW: context table entries.
    pub const CTX_COUNT: u64 = 0x050;
    /// WO: drop cached translations of a context (`0xffffffff`: all).
    pub const CTX_INVALIDATE: u64 = 0x054;
    /// WO: whole-device reset with [`RESET_MAGIC`].
    pub const RESET: u64 = 0x058;
    /// RO: device clock, low half (latches the high half).
    pub const TIMESTAMP_LO: u64 = 0x05c;
    /// RO: latched high half.
    pub const TIMESTAMP_HI: u64 = 0x060;
    /// RW: DMA address of the self-test word, low half (`docs/hardware.md` 3.1).
    pub const SELFTEST_ADDR_LO: u64 = 0x064;
    /// RW: high half.
    pub const SELFTEST_ADDR_HI: u64 = 0x068;
    /// WO: write the value to the self-test word by DMA, then raise vector 5.
    pub const SELFTEST: u64 = 0x06c;
    /// `'RST!'`.
    pub const RESET_MAGIC: u32 = u32::from_le_bytes(*b"RST!");
    /// First queue register block.
    pub const QUEUE_BASE: u64 = 0x100;
    /// Stride between queue register blocks.
    pub const QUEUE_STRIDE: u64 = 0x40;
    /// First doorbell.
    pub const DOORBELL_BASE: u64 = 0x1000;
    /// Most contexts: larger `CTX_COUNT` values are clamped to this.
    pub const MAX_CONTEXTS: u32 = 4096;
    /// Queue register offsets inside a block.
    pub mod q {
        /// Ring DMA address, low half.
        pub const RING_LO: u64 = 0x00;
        /// High half.
        pub const RING_HI: u64 = 0x04;
        /// Ring entries.
        pub const RING_SIZE: u64 = 0x08;
        /// Completion area DMA address, low half.
        pub const COMPL_LO: u64 = 0x0c;
        /// High half.
        pub const COMPL_HI: u64 = 0x10;
        /// Control: bit 0 enable, bit 1 reset.
        pub const CTRL: u64 = 0x14;
        /// Status: bit 0 enabled, bit 1 error.
        pub const STATUS: u64 = 0x18;
        /// Arbitration priority: 0 low, 1 normal, 2 high.
        pub const PRIORITY: u64 = 0x1c;
        /// `PRIORITY`: low.
        pub const PRIO_LOW: u32 = 0;
        /// `PRIORITY`: normal (the reset value).
        pub const PRIO_NORMAL: u32 = 1;
        /// `PRIORITY`: high; larger values are stored as this.
        pub const PRIO_HIGH: u32 = 2;
        /// `CTRL` enable bit.
        pub const CTRL_ENABLE: u32 = 1;
        /// `CTRL` reset bit.
        pub const CTRL_RESET: u32 = 2;
        /// `STATUS` enabled bit.
        pub const STATUS_ENABLED: u32 = 1;
        /// `STATUS` error bit.
        pub const STATUS_ERROR: u32 = 2;
        /// Smallest ring.
        pub const MIN_ENTRIES: u32 = 16;
        /// Largest ring.
        pub const MAX_ENTRIES: u32 = 4096;
    }
}

/// Capability bits in the `CAPS` register.
pub mod caps {
    /// Per-context address translation.
    pub const MMU: u32 = 1;
    /// f32 instructions.
    pub const F32: u32 = 2;
    /// i32 instructions.
    pub const I32: u32 = 4;
    /// `TS` and the timestamp registers.
    pub const TIMESTAMP: u32 = 8;
    /// The `SELFTEST` registers and vector 5.
    pub const SELFTEST: u32 = 16;
    /// All of the above.
    pub const ALL: u32 = MMU | F32 | I32 | TIMESTAMP | SELFTEST;
}

/// Event page layout (`docs/hardware.md` 6.1): byte offsets of its fields.
pub mod events {
    /// u32: last `BOOT_STATUS`.
    pub const EVENT_BOOT_STATUS: u64 = 0x00;
    /// u32: last `DEV_STATUS`.
    pub const EVENT_DEV_STATUS: u64 = 0x04;
    /// u32: crash code, non-zero after a firmware crash.
    pub const EVENT_CRASH_CODE: u64 = 0x08;
    /// u32: events so far (invalidate completions are not counted).
    pub const EVENT_COUNT: u64 = 0x0c;
    /// u64: device clock at the last event.
    pub const EVENT_TIMESTAMP: u64 = 0x10;
    /// u32: `CTX_INVALIDATE` writes completed since reset, modulo 2^32.
    pub const EVENT_INVAL_DONE: u64 = 0x18;
    /// Bytes written by an event other than an invalidate completion (fields 0x00..0x18).
    pub const EVENT_RECORD_LEN: usize = 0x18;
    /// u32: bytes appended to the firmware log since reset, modulo 2^32.
    pub const EVENT_LOG_BYTES: u64 = 0x1c;
    /// Start of the firmware log ring.
    pub const EVENT_LOG: u64 = 0x100;
    /// Size of the firmware log ring: byte i of the log is at `EVENT_LOG + i % EVENT_LOG_LEN`.
    pub const EVENT_LOG_LEN: u64 = 0xf00;
}

/// MSI-X vector assignment.
pub mod vectors {
    /// Device events: boot status changes, errors, firmware events.
    pub const EVENTS: u16 = 0;
    /// Vector of hardware queue `q`.
    pub const fn queue(q: u16) -> u16 {
        1 + q
    }
    /// Self-test completions (`SELFTEST`).
    pub const SELFTEST: u16 = 5;
}

/// Firmware image format constants (`docs/hardware.md` 4.1).
pub mod fw {
    /// `'TFW1'`.
    pub const MAGIC: u32 = u32::from_le_bytes(*b"TFW1");
    /// Header version this hardware understands.
    pub const HEADER_VERSION: u16 = 1;
    /// Fixed part of the header.
    pub const HEADER_FIXED: usize = 64;
    /// Bytes per section table entry.
    pub const SECTION_ENTRY: usize = 16;
    /// Most sections in an image.
    pub const MAX_SECTIONS: u32 = 16;
    /// Largest image.
    pub const MAX_IMAGE: u32 = 1 << 20;
    /// Offset and length of the digest field.
    pub const DIGEST_OFFSET: usize = 0x20;
    /// Digest length (SHA-256).
    pub const DIGEST_LEN: usize = 32;
    /// Section type: decode table.
    pub const SECTION_DECODE: u32 = 1;
    /// Section type: build note.
    pub const SECTION_NOTE: u32 = 2;
    /// Size of the decode table section.
    pub const DECODE_SIZE: u32 = 512;
    /// Firmware ABI versions this hardware supports.
    pub const HW_ABI_MIN: u16 = 1;
    /// See [`HW_ABI_MIN`].
    pub const HW_ABI_MAX: u16 = 1;
}

/// Boot ROM status codes (`BOOT_STATUS`, `docs/hardware.md` 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BootStatus {
    /// No boot attempted since reset.
    None = 0,
    /// Image accepted.
    Ok = 1,
    /// Bad magic.
    BadMagic = 2,
    /// Unknown header version.
    BadHeaderVersion = 3,
    /// Sizes wrong.
    BadSize = 4,
    /// Digest mismatch.
    BadDigest = 5,
    /// No common ABI.
    AbiUnsupported = 6,
    /// Bad section table.
    BadSection = 7,
    /// No decode section.
    MissingSection = 8,
    /// Image unreadable.
    DmaError = 9,
    /// Boot requested while busy.
    Busy = 10,
}

impl BootStatus {
    /// Every status, in code order.
    pub const ALL: [BootStatus; 11] = [
        BootStatus::None,
        BootStatus::Ok,
        BootStatus::BadMagic,
        BootStatus::BadHeaderVersion,
        BootStatus::BadSize,
        BootStatus::BadDigest,
        BootStatus::AbiUnsupported,
        BootStatus::BadSection,
        BootStatus::MissingSection,
        BootStatus::DmaError,
        BootStatus::Busy,
    ];

    /// The status with this code.
    pub fn from_code(code: u32) -> Option<BootStatus> {
        BootStatus::ALL.get(code as usize).copied()
    }

    /// True for the codes that report a refused boot.
    pub fn is_failure(self) -> bool {
        !matches!(self, BootStatus::None | BootStatus::Ok)
    }

    /// Name as in the manual.
    pub fn name(self) -> &'static str {
        use BootStatus::*;
        match self {
            None => "NONE",
            Ok => "OK",
            BadMagic => "BAD_MAGIC",
            BadHeaderVersion => "BAD_HEADER_VERSION",
            BadSize => "BAD_SIZE",
            BadDigest => "BAD_DIGEST",
            AbiUnsupported => "ABI_UNSUPPORTED",
            BadSection => "BAD_SECTION",
            MissingSection => "MISSING_SECTION",
            DmaError => "DMA_ERROR",
            Busy => "BUSY",
        }
    }
}

/// `DEV_STATUS` bits.
pub mod dev_status {
    /// Firmware accepted.
    pub const BOOTED: u32 = 1;
    /// ABI selected, queues usable.
    pub const READY: u32 = 2;
    /// Firmware crashed.
    pub const HALTED: u32 = 4;
    /// Boot in progress.
    pub const BOOTING: u32 = 8;
}

/// Descriptors, completion records and job status codes (`docs/hardware.md` 5).
pub mod queue {
    /// Descriptor size.
    pub const DESC_SIZE: usize = 64;
    /// Completion area header size.
    pub const COMPL_HEADER: usize = 64;
    /// Completion record size.
    pub const RECORD_SIZE: usize = 32;
    /// u64 in the completion area: the queue's progress count (`docs/hardware.md` 5.5).
    pub const COMPL_PROGRESS: u64 = 0x10;
    /// The progress count is written at least this often (in counts) while a job runs.
    pub const PROGRESS_INTERVAL: u64 = 1 << 16;
    /// ... and at least this often (in ns of running) once the count has changed, whatever
    /// the counts cost.
    pub const PROGRESS_PERIOD_NS: u64 = 10_000_000;
    /// Descriptor opcode: no operation.
    pub const OP_NOP: u8 = 0;
    /// Descriptor opcode: run a program.
    pub const OP_EXEC: u8 = 1;
    /// Descriptor flag: raise the queue vector on completion.
    pub const FLAG_IRQ: u8 = 1;
    /// Longest program.
    pub const MAX_CMD_LEN: u32 = 1 << 20;
    /// Default instruction budget.
    pub const DEFAULT_BUDGET: u32 = 1 << 24;

    /// A descriptor (`docs/hardware.md` 5.4).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Descriptor {
        /// `OP_NOP` or `OP_EXEC`.
        pub opcode: u8,
        /// `FLAG_IRQ`.
        pub flags: u8,
        /// MMU context.
        pub context: u32,
        /// Fence value.
        pub seqno: u64,
        /// Program VA.
        pub cmd_va: u64,
        /// Program length.
        pub cmd_len: u32,
        /// Instruction budget (0: default).
        pub budget: u32,
        /// True when a reserved byte is not zero.
        pub reserved_set: bool,
    }

    impl Descriptor {
        /// The 64 bytes of the descriptor.
        pub fn to_bytes(&self) -> [u8; DESC_SIZE] {
            let mut b = [0u8; DESC_SIZE];
            b[0] = self.opcode;
            b[1] = self.flags;
            b[4..8].copy_from_slice(&self.context.to_le_bytes());
            b[8..16].copy_from_slice(&self.seqno.to_le_bytes());
            b[16..24].copy_from_slice(&self.cmd_va.to_le_bytes());
            b[24..28].copy_from_slice(&self.cmd_len.to_le_bytes());
            b[28..32].copy_from_slice(&self.budget.to_le_bytes());
            b
        }

        /// Parses 64 bytes.
        pub fn from_bytes(b: &[u8; DESC_SIZE]) -> Self {
            let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            let u64at = |o: usize| u64::from(u32at(o)) | u64::from(u32at(o + 4)) << 32;
            Descriptor {
                opcode: b[0],
                flags: b[1],
                context: u32at(4),
                seqno: u64at(8),
                cmd_va: u64at(16),
                cmd_len: u32at(24),
                budget: u32at(28),
                reserved_set: b[1] & !FLAG_IRQ != 0
                    || b[2] != 0
                    || b[3] != 0
                    || b[32..].iter().any(|&x| x != 0),
            }
        }
    }

    /// A completion record (`docs/hardware.md` 5.5).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Record {
        /// Seqno of the descriptor.
        pub seqno: u64,
        /// Job status.
        pub status: u32,
        /// Status detail.
        pub info: u32,
        /// Faulting VA.
        pub fault_va: u64,
        /// Execution time in ns.
        pub duration: u64,
    }

    impl Record {
        /// The 32 bytes of the record.
        pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
            let mut b = [0u8; RECORD_SIZE];
            b[0..8].copy_from_slice(&self.seqno.to_le_bytes());
            b[8..12].copy_from_slice(&self.status.to_le_bytes());
            b[12..16].copy_from_slice(&self.info.to_le_bytes());
            b[16..24].copy_from_slice(&self.fault_va.to_le_bytes());
            b[24..32].copy_from_slice(&self.duration.to_le_bytes());
            b
        }

        /// Parses 32 bytes.
        pub fn from_bytes(b: &[u8; RECORD_SIZE]) -> Self {
            let u64at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
            let u32at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
            Record {
                seqno: u64at(0),
                status: u32at(8),
                info: u32at(12),
                fault_va: u64at(16),
                duration: u64at(24),
            }
        }
    }

    /// Job status codes.
    pub mod status {
        /// Completed.
        pub const OK: u32 = 1;
        /// Translation fault.
        pub const MMU_FAULT: u32 = 2;
        /// Illegal instruction or operand.
        pub const ILLEGAL: u32 = 3;
        /// Budget exhausted.
        pub const WATCHDOG: u32 = 4;
        /// Bad descriptor.
        pub const BAD_DESCRIPTOR: u32 = 5;
        /// Queue or device reset, or firmware crash.
        pub const ABORTED: u32 = 6;
        /// Never booted.
        pub const NO_FIRMWARE: u32 = 7;

        /// The name of status `code` as the manual writes it.
        pub fn name(code: u32) -> &'static str {
            match code {
                OK => "OK",
                MMU_FAULT => "MMU_FAULT",
                ILLEGAL => "ILLEGAL",
                WATCHDOG => "WATCHDOG",
                BAD_DESCRIPTOR => "BAD_DESCRIPTOR",
                ABORTED => "ABORTED",
                NO_FIRMWARE => "NO_FIRMWARE",
                _ => "unknown",
            }
        }
    }

    /// `MMU_FAULT` info values.
    pub mod fault {
        /// Faulting read.
        pub const READ: u32 = 1;
        /// Faulting write.
        pub const WRITE: u32 = 2;
        /// Context not in the table.
        pub const NO_CONTEXT: u32 = 3;
    }

    /// Queue error codes.
    pub mod qerr {
        /// Bad ring configuration.
        pub const BAD_CONFIG: u32 = 1;
        /// Ring unreadable.
        pub const RING_DMA: u32 = 2;
        /// Completion area unwritable.
        pub const COMPL_DMA: u32 = 3;
    }
}

/// MMU format (`docs/hardware.md` 7).
pub mod mmu {
    /// Page size.
    pub const PAGE_SIZE: u64 = 4096;
    /// Bits of device VA.
    pub const VA_BITS: u32 = 39;
    /// Valid.
    pub const PTE_V: u64 = 1;
    /// Writable.
    pub const PTE_W: u64 = 2;
    /// Leaf.
    pub const PTE_L: u64 = 4;
    /// Address bits 51:12.
    pub const PTE_ADDR: u64 = ((1 << 52) - 1) & !0xfff;
    /// Context table entry size.
    pub const CTX_ENTRY: u64 = 16;
}
