// SPDX-License-Identifier: GPL-2.0

//! TERN BAR0 register map and the layouts of the memory shared with the device
//! (`docs/hardware.md`).
//!
//! All registers are 32 bits wide and little-endian. Offsets are from the start of BAR0.

/// Size of the BAR0 register window.
pub(crate) const BAR0_SIZE: usize = 0x2000;

/// Device identification, read-only: always [`ID_TERN`].
pub(crate) const ID: usize = 0x000;
/// Hardware version, read-only: `major << 16 | minor`.
pub(crate) const HW_VERSION: usize = 0x004;
/// Capability bits, read-only.
pub(crate) const CAPS: usize = 0x008;
/// Number of hardware queues, read-only.
pub(crate) const QUEUE_COUNT: usize = 0x00c;
/// Device state, read-only: [`DEV_STATUS_READY`], ...
pub(crate) const DEV_STATUS: usize = 0x010;
//@ step firmware {
/// Boot ROM status code, read-only, see [`boot_status_name`].
pub(crate) const BOOT_STATUS: usize = 0x014;
/// Version of the running firmware, read-only.
pub(crate) const FW_VERSION: usize = 0x018;
/// ABI range of the loaded firmware, read-only: `min << 16 | max`.
pub(crate) const FW_ABI: usize = 0x01c;
//@ }
/// Scratch register, read/write, no side effects.
pub(crate) const SCRATCH: usize = 0x020;
/// Interrupt test, write-only: the device raises the MSI-X vector whose index is written.
pub(crate) const IRQ_RAISE: usize = 0x024;
//@ step debugfs {
/// DMA address of the self-test word, bits 31:0 (`docs/hardware.md` 3.1).
pub(crate) const SELFTEST_ADDR_LO: usize = 0x064;
/// DMA address of the self-test word, bits 63:32.
pub(crate) const SELFTEST_ADDR_HI: usize = 0x068;
/// Self-test, write-only: the device writes the value to the self-test word, then raises
/// [`VECTOR_SELFTEST`].
pub(crate) const SELFTEST: usize = 0x06c;
/// `CAPS` bit: the self-test registers exist.
pub(crate) const CAPS_SELFTEST: u32 = 1 << 4;
//@ }
//@ step firmware {
/// The firmware ABI version the driver speaks.
pub(crate) const ABI_SELECT: usize = 0x028;
/// DMA address of the firmware image, bits 31:0.
pub(crate) const BOOT_ADDR_LO: usize = 0x030;
/// DMA address of the firmware image, bits 63:32.
pub(crate) const BOOT_ADDR_HI: usize = 0x034;
/// Size of the firmware image.
pub(crate) const BOOT_SIZE: usize = 0x038;
/// Write [`BOOT_CTRL_START`] to run the boot ROM.
pub(crate) const BOOT_CTRL: usize = 0x03c;
/// DMA address of the event page, bits 31:0.
pub(crate) const EVENT_ADDR_LO: usize = 0x040;
/// DMA address of the event page, bits 63:32.
pub(crate) const EVENT_ADDR_HI: usize = 0x044;
//@ }
//@ step buffers {
/// DMA address of the context table, bits 31:0.
pub(crate) const CTX_TABLE_LO: usize = 0x048;
/// DMA address of the context table, bits 63:32.
pub(crate) const CTX_TABLE_HI: usize = 0x04c;
/// Number of entries of the context table.
pub(crate) const CTX_COUNT: usize = 0x050;
/// Write a context index to drop its cached translations.
pub(crate) const CTX_INVALIDATE: usize = 0x054;
//@ }
/// Write [`RESET_MAGIC`] to reset the whole device.
pub(crate) const RESET: usize = 0x058;

//@ step jobs {
/// Base of the registers of queue `q`: `QUEUE_BASE + QUEUE_STRIDE * q`.
pub(crate) const QUEUE_BASE: usize = 0x100;
/// Distance between the register blocks of two queues.
pub(crate) const QUEUE_STRIDE: usize = 0x40;
/// Queue register: ring DMA address, bits 31:0.
pub(crate) const Q_RING_LO: usize = 0x00;
/// Queue register: ring DMA address, bits 63:32.
pub(crate) const Q_RING_HI: usize = 0x04;
/// Queue register: ring entries.
pub(crate) const Q_RING_SIZE: usize = 0x08;
/// Queue register: completion area DMA address, bits 31:0.
pub(crate) const Q_COMPL_LO: usize = 0x0c;
/// Queue register: completion area DMA address, bits 63:32.
pub(crate) const Q_COMPL_HI: usize = 0x10;
/// Queue register: control, [`Q_CTRL_ENABLE`].
pub(crate) const Q_CTRL: usize = 0x14;
/// Queue register: status, [`Q_STATUS_ENABLED`].
pub(crate) const Q_STATUS: usize = 0x18;
/// Queue register: arbitration priority (0 low, 1 normal, 2 high).
pub(crate) const Q_PRIORITY: usize = 0x1c;
//@ }
//@ step recovery {
/// [`Q_CTRL`] bit: reset the queue; a register read after it returns once it has stopped.
pub(crate) const Q_CTRL_RESET: u32 = 2;
/// Word of the completion area holding the queue's progress count.
pub(crate) const COMPL_PROGRESS_WORD: usize = 2;
/// Word of the event page holding `crash_code` (low half) and `event_count` (high half).
pub(crate) const EVENT_CRASH_COUNT_WORD: usize = 1;
/// Byte offset of `log_bytes` in the event page (the high half of word 3).
pub(crate) const EVENT_LOG_BYTES: usize = 0x1c;
/// Byte offset of the firmware log ring in the event page.
pub(crate) const EVENT_LOG: usize = 0x100;
/// Size of the firmware log ring.
pub(crate) const EVENT_LOG_LEN: usize = 0xf00;
/// [`DEV_STATUS`] bit: the firmware crashed.
pub(crate) const DEV_STATUS_HALTED: u32 = 1 << 2;
//@ }
//@ step jobs {
/// Doorbell of queue `q`: `DOORBELL_BASE + 4 * q`.
pub(crate) const DOORBELL_BASE: usize = 0x1000;
//@ }

/// Value of [`ID`]: `"TERN"` in little-endian byte order.
pub(crate) const ID_TERN: u32 = 0x4e52_4554;
//@ step firmware {
/// [`BOOT_CTRL`]: run the boot ROM.
pub(crate) const BOOT_CTRL_START: u32 = 1;
/// [`DEV_STATUS`]: firmware running and ABI selected.
pub(crate) const DEV_STATUS_READY: u32 = 1 << 1;
/// [`BOOT_STATUS`] after a successful boot.
pub(crate) const BOOT_STATUS_OK: u32 = 1;
//@ }
/// [`RESET`] magic: `"RST!"` in little-endian byte order, as the device model checks it.
pub(crate) const RESET_MAGIC: u32 = u32::from_le_bytes(*b"RST!");
//@ step jobs {
/// Queue control: enable.
pub(crate) const Q_CTRL_ENABLE: u32 = 1;
/// Queue status: enabled.
pub(crate) const Q_STATUS_ENABLED: u32 = 1;
//@ }

/// Number of MSI-X vectors of the device.
pub(crate) const NUM_VECTORS: u32 = 8;
/// MSI-X vector of device events; vector `1 + q` belongs to hardware queue `q`.
pub(crate) const VECTOR_EVENTS: u32 = 0;
//@ step debugfs {
/// MSI-X vector of self-test completions.
pub(crate) const VECTOR_SELFTEST: u32 = 5;
//@ }
/// Number of hardware queues the driver uses.
pub(crate) const NUM_QUEUES: usize = 4;
//@ step buffers {
/// Entries of the context table (the hardware maximum): one per open file.
pub(crate) const NUM_CONTEXTS: usize = 4096;
/// Bytes per context table entry.
pub(crate) const CTX_ENTRY_SIZE: usize = 16;
//@ }
//@ step firmware {
/// The firmware ABI version this driver implements.
pub(crate) const DRIVER_ABI: u32 = 1;
//@ }

//@ step buffers {
/// Page table entry: valid.
pub(crate) const PTE_V: u64 = 1 << 0;
/// Page table entry: writable (leaf).
pub(crate) const PTE_W: u64 = 1 << 1;
/// Page table entry: address bits 51:12.
pub(crate) const PTE_ADDR: u64 = ((1 << 52) - 1) & !0xfff;
//@ }
/// Width of the DMA addresses the device can reach: what a page table entry holds.
pub(crate) const DMA_BITS: u32 = 52;
//@ step buffers {
/// Event page word holding `inval_done` in bits 31:0 (byte offset 0x18): the number of
/// [`CTX_INVALIDATE`] writes the device has completed.
pub(crate) const EVENT_INVAL_WORD: usize = 3;
/// Size of a device address space.
pub(crate) const VA_BITS: u32 = 39;
//@ }

//@ step jobs {
/// Bytes per descriptor.
pub(crate) const DESC_SIZE: usize = 64;
/// Descriptor opcode: no operation.
pub(crate) const OP_NOP: u64 = 0;
/// Descriptor opcode: run a program.
pub(crate) const OP_EXEC: u64 = 1;
/// Descriptor flag: raise the queue vector on completion.
pub(crate) const DESC_FLAG_IRQ: u64 = 1;
//@ }
/// Longest program of one descriptor.
pub(crate) const MAX_CMD_LEN: u32 = 1 << 20;
//@ step jobs {
/// Bytes of the completion area header (fence, head, error).
pub(crate) const COMPL_HEADER: usize = 64;
/// Bytes per completion record.
pub(crate) const RECORD_SIZE: usize = 32;

/// Job status codes of completion records.
pub(crate) mod status {
    /// Completed.
    pub(crate) const OK: u32 = 1;
    /// Translation fault.
    pub(crate) const MMU_FAULT: u32 = 2;
    /// Illegal instruction.
    pub(crate) const ILLEGAL: u32 = 3;
    /// Instruction budget exhausted.
    pub(crate) const WATCHDOG: u32 = 4;
    /// Bad descriptor.
    pub(crate) const BAD_DESCRIPTOR: u32 = 5;
    /// Aborted by a reset or a firmware crash.
    pub(crate) const ABORTED: u32 = 6;
    /// The device has no firmware.
    pub(crate) const NO_FIRMWARE: u32 = 7;
}
//@ }

//@ step firmware {
/// Firmware image format (`docs/hardware.md` 4.1).
pub(crate) mod fw {
    /// `'TFW1'`.
    pub(crate) const MAGIC: u32 = u32::from_le_bytes(*b"TFW1");
    /// The only header version.
    pub(crate) const HEADER_VERSION: u16 = 1;
    /// Bytes of the fixed part of the header.
    pub(crate) const HEADER_FIXED: usize = 64;
    /// Bytes per section table entry.
    pub(crate) const SECTION_ENTRY: usize = 16;
    /// Most sections in an image.
    pub(crate) const MAX_SECTIONS: u32 = 16;
    /// Largest image.
    pub(crate) const MAX_IMAGE: usize = 1 << 20;
}
//@ }

/// Extracts the major number from a [`HW_VERSION`] value.
pub(crate) const fn hw_version_major(version: u32) -> u32 {
    version >> 16
}

/// Extracts the minor number from a [`HW_VERSION`] value.
pub(crate) const fn hw_version_minor(version: u32) -> u32 {
    version & 0xffff
}

//@ step jobs {
/// Offset of queue register `reg` of queue `q`.
pub(crate) const fn queue_reg(q: usize, reg: usize) -> usize {
    QUEUE_BASE + QUEUE_STRIDE * q + reg
}
//@ }

//@ step firmware {
/// Name of a [`BOOT_STATUS`] code, as in `docs/hardware.md` 4.3.
pub(crate) fn boot_status_name(code: u32) -> &'static str {
    match code {
        0 => "NONE",
        1 => "OK",
        2 => "BAD_MAGIC",
        3 => "BAD_HEADER_VERSION",
        4 => "BAD_SIZE",
        5 => "BAD_DIGEST",
        6 => "ABI_UNSUPPORTED",
        7 => "BAD_SECTION",
        8 => "MISSING_SECTION",
        9 => "DMA_ERROR",
        10 => "BUSY",
        _ => "unknown status",
    }
}
//@ }
