// SPDX-License-Identifier: MIT OR Apache-2.0
//! An in-process test driver: programs the model through the same registers, rings and
//! memory formats a kernel driver uses (`docs/hardware.md`). Host memory is a memfd mapped as
//! one DMA window, like guest RAM under QEMU.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

use tern_emu::device::Device;
use tern_hw::mmu::*;
use tern_hw::queue::{self as hq, Descriptor, Record};
use tern_hw::regs::{self, q};
use tern_isa::{EngineOp, Insn, Opcode};

/// DMA address where the test's memory starts.
pub const IOVA: u64 = 0x1_0000_0000;
/// Size of the test's memory.
pub const MEM: u64 = 512 << 20;

pub fn eventfd() -> File {
    // SAFETY: eventfd with valid flags; the fd is owned by the returned File.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    unsafe { File::from_raw_fd(fd) }
}

/// Waits up to `ms` for the eventfd to fire; returns the count read.
pub fn wait_irq(f: &File, ms: i32) -> u64 {
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    if n <= 0 {
        return 0;
    }
    let mut v = 0u64;
    // SAFETY: reading 8 bytes into a u64 from an eventfd.
    let r = unsafe { libc::read(f.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    if r == 8 { v } else { 0 }
}

/// The payload of a vfio-user DMA_MAP of `len` bytes at `iova` without an fd (readable and
/// writable, offset 0): the window is reached by DMA_READ/DMA_WRITE messages.
pub fn dma_map_without_fd(iova: u64, len: u64) -> Vec<u8> {
    [
        &32u32.to_le_bytes()[..],
        &3u32.to_le_bytes(),
        &0u64.to_le_bytes(),
        &iova.to_le_bytes(),
        &len.to_le_bytes(),
    ]
    .concat()
}

pub fn firmware() -> Vec<u8> {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../firmware/tern-fw.src"
    ))
    .expect("firmware source");
    tern_fw::build(&tern_fw::parse(&src).expect("firmware source parses"))
}

/// A queue as the test driver set it up: ring, completion area, size, next tail, next seqno.
pub type QueueSlot = (u64, u64, u32, u32, u64);

pub struct TestDriver {
    pub dev: Device,
    pub irqs: Vec<File>,
    next: u64,
    /// Per queue: ring, completion area, size, next tail, next seqno.
    pub queues: Vec<Option<QueueSlot>>,
    pub ctx_table: u64,
    roots: Vec<u64>,
}

impl TestDriver {
    /// A device with memory and interrupts connected, not booted.
    pub fn new() -> Self {
        let dev = Device::new();
        // SAFETY: memfd_create with a valid C string; the fd is owned by the File.
        let fd = unsafe { libc::memfd_create(c"tern-test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fresh descriptor.
        let f = unsafe { File::from_raw_fd(fd) };
        f.set_len(MEM).unwrap();
        dev.mem.map(IOVA, MEM, 0, Some(f)).unwrap();
        // Memory space and bus master, as a driver's pci_enable_device + pci_set_master do.
        dev.config.lock().unwrap().write(4, &[0x06, 0x00]);
        let irqs: Vec<File> = (0..8).map(|_| eventfd()).collect();
        for (i, e) in irqs.iter().enumerate() {
            dev.irqs
                .set_irqs(2, 0x24, i as u32, 1, vec![e.try_clone().unwrap()])
                .unwrap();
        }
        let mut t = TestDriver {
            dev,
            irqs,
            next: IOVA,
            queues: vec![None; 4],
            ctx_table: 0,
            roots: Vec::new(),
        };
        t.ctx_table = t.alloc(4096);
        t.w32(regs::CTX_TABLE_LO, t.ctx_table as u32);
        t.w32(regs::CTX_TABLE_HI, (t.ctx_table >> 32) as u32);
        t.w32(regs::CTX_COUNT, 16);
        t
    }

    /// A booted, ready device with queue 0 enabled and context 1 created.
    pub fn ready() -> Self {
        let mut t = TestDriver::new();
        assert_eq!(t.boot(&firmware()), 1);
        t.w32(regs::ABI_SELECT, 1);
        assert_eq!(t.r32(regs::DEV_STATUS) & 3, 3);
        t.enable_queue(0, 64);
        t.new_context(1);
        t
    }

    pub fn r32(&self, off: u64) -> u32 {
        self.dev.read32(off)
    }
    pub fn w32(&self, off: u64, v: u32) {
        self.dev.write32(off, v)
    }
    pub fn qreg(qn: usize, off: u64) -> u64 {
        regs::QUEUE_BASE + regs::QUEUE_STRIDE * qn as u64 + off
    }

    /// Zeroed, page-aligned DMA memory.
    pub fn alloc(&mut self, len: u64) -> u64 {
        let a = self.next;
        let len = len.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        assert!(a + len <= IOVA + MEM, "test memory exhausted");
        self.next += len;
        self.dev.mem.write(a, &vec![0u8; len as usize]).unwrap();
        a
    }
    pub fn put(&self, addr: u64, b: &[u8]) {
        self.dev.mem.write(addr, b).unwrap()
    }
    pub fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        self.dev.mem.read(addr, &mut b).unwrap();
        b
    }
    pub fn get64(&self, addr: u64) -> u64 {
        u64::from_le_bytes(self.get(addr, 8).try_into().unwrap())
    }

    /// Loads an image and runs the boot ROM; returns BOOT_STATUS.
    pub fn boot(&mut self, image: &[u8]) -> u32 {
        self.boot_sized(image, image.len() as u32)
    }
    pub fn boot_sized(&mut self, image: &[u8], size: u32) -> u32 {
        let a = self.alloc(image.len().max(1) as u64);
        self.put(a, image);
        self.w32(regs::BOOT_ADDR_LO, a as u32);
        self.w32(regs::BOOT_ADDR_HI, (a >> 32) as u32);
        self.w32(regs::BOOT_SIZE, size);
        self.w32(regs::BOOT_CTRL, 1);
        assert!(
            wait_irq(&self.irqs[0], 1000) >= 1,
            "no boot event interrupt"
        );
        self.r32(regs::BOOT_STATUS)
    }

    pub fn enable_queue(&mut self, qn: usize, size: u32) {
        let ring = self.alloc(u64::from(size) * 64);
        let compl = self.alloc(64 + u64::from(size) * 32);
        let w = |o, v| self.w32(Self::qreg(qn, o), v);
        w(q::RING_LO, ring as u32);
        w(q::RING_HI, (ring >> 32) as u32);
        w(q::RING_SIZE, size);
        w(q::COMPL_LO, compl as u32);
        w(q::COMPL_HI, (compl >> 32) as u32);
        w(q::CTRL, q::CTRL_ENABLE);
        assert_eq!(
            self.r32(Self::qreg(qn, q::STATUS)),
            q::STATUS_ENABLED,
            "queue {qn} not enabled"
        );
        self.queues[qn] = Some((ring, compl, size, 0, 1));
    }

    /// Creates context `ctx` with an empty address space.
    pub fn new_context(&mut self, ctx: u32) -> u64 {
        let root = self.alloc(PAGE_SIZE);
        self.put(
            self.ctx_table + u64::from(ctx) * 16,
            &(root | PTE_V).to_le_bytes(),
        );
        self.roots.push(root);
        root
    }

    fn root(&self, ctx: u32) -> u64 {
        self.get64(self.ctx_table + u64::from(ctx) * 16) & PTE_ADDR
    }

    /// Maps `[va, va+len)` of context `ctx` to fresh memory; returns its DMA address.
    pub fn map(&mut self, ctx: u32, va: u64, len: u64, writable: bool) -> u64 {
        let pa = self.alloc(len);
        self.map_at(ctx, va, pa, len, writable);
        pa
    }

    /// Maps `[va, va+len)` of context `ctx` to the DMA range at `pa`.
    pub fn map_at(&mut self, ctx: u32, va: u64, pa: u64, len: u64, writable: bool) {
        let root = self.root(ctx);
        let mut off = 0;
        while off < len {
            let v = va + off;
            let mut table = root;
            for level in 0..2 {
                let idx = (v >> (30 - 9 * level)) & 511;
                let e = self.get64(table + idx * 8);
                table = if e & PTE_V != 0 {
                    e & PTE_ADDR
                } else {
                    let t = self.alloc(PAGE_SIZE);
                    self.put(table + idx * 8, &(t | PTE_V).to_le_bytes());
                    t
                };
            }
            let idx = (v >> 12) & 511;
            let pte = (pa + off) | PTE_V | if writable { PTE_W } else { 0 };
            self.put(table + idx * 8, &pte.to_le_bytes());
            off += PAGE_SIZE;
        }
    }

    /// Puts a descriptor on queue `qn` and rings the doorbell; returns its seqno.
    pub fn submit(&mut self, qn: usize, mut d: Descriptor) -> u64 {
        if d.seqno == 0 {
            d.seqno = self.queues[qn].expect("queue enabled").4;
        }
        self.submit_raw(qn, d.to_bytes())
    }

    /// Puts raw descriptor bytes on queue `qn` (seqno taken from them) and rings the doorbell.
    pub fn submit_raw(&mut self, qn: usize, raw: [u8; 64]) -> u64 {
        let (ring, compl, size, tail, _) = self.queues[qn].expect("queue enabled");
        let seqno = u64::from_le_bytes(raw[8..16].try_into().unwrap());
        self.put(ring + u64::from(tail) * 64, &raw);
        let ntail = (tail + 1) % size;
        self.queues[qn] = Some((ring, compl, size, ntail, seqno + 1));
        self.w32(regs::DOORBELL_BASE + 4 * qn as u64, ntail);
        seqno
    }

    /// Fence value of queue `qn`, read from memory.
    pub fn fence(&self, qn: usize) -> u64 {
        self.get64(self.queues[qn].expect("queue").1)
    }

    /// Waits until the fence of `qn` reaches `seqno`; returns the job's record.
    pub fn wait(&self, qn: usize, seqno: u64) -> Record {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.fence(qn) < seqno {
            assert!(
                Instant::now() < deadline,
                "queue {qn}: seqno {seqno} never completed"
            );
            wait_irq(&self.irqs[1 + qn], 10);
        }
        self.record_of(qn, seqno).expect("record of completed job")
    }

    pub fn record_of(&self, qn: usize, seqno: u64) -> Option<Record> {
        let (_, compl, size, _, _) = self.queues[qn]?;
        (0..size)
            .map(|i| self.record(qn, compl, i))
            .find(|r| r.seqno == seqno)
    }

    fn record(&self, _qn: usize, compl: u64, i: u32) -> Record {
        let b = self.get(compl + 64 + u64::from(i) * 32, 32);
        Record::from_bytes(&b.try_into().unwrap())
    }

    /// Writes `prog` into context `ctx` at `va` and runs it on queue `qn`; returns the record.
    pub fn run(&mut self, qn: usize, ctx: u32, va: u64, prog: &[Insn]) -> Record {
        let bytes = tern_isa::encode_program(prog);
        let pa = self.map(ctx, va, bytes.len().max(8) as u64, false);
        self.put(pa, &bytes);
        let s = self.submit(qn, exec(ctx, va, bytes.len() as u32));
        self.wait(qn, s)
    }
}

/// An EXEC descriptor with the IRQ flag.
pub fn exec(ctx: u32, va: u64, len: u32) -> Descriptor {
    Descriptor {
        opcode: hq::OP_EXEC,
        flags: hq::FLAG_IRQ,
        context: ctx,
        cmd_va: va,
        cmd_len: len,
        ..Default::default()
    }
}

/// A NOP descriptor with the IRQ flag.
pub fn nop() -> Descriptor {
    Descriptor {
        opcode: hq::OP_NOP,
        flags: hq::FLAG_IRQ,
        ..Default::default()
    }
}

/// Instruction helpers.
pub fn li(r: u8, v: i32) -> Insn {
    Insn::new(Opcode::Li, [r, 0, 0, 0], 0, v as u32)
}
/// Loads a full 64-bit value.
pub fn la(r: u8, v: u64) -> Vec<Insn> {
    vec![
        Insn::new(Opcode::Li, [r, 0, 0, 0], 0, v as u32),
        Insn::new(Opcode::Lih, [r, 0, 0, 0], 0, (v >> 32) as u32),
    ]
}
pub fn op(o: Opcode, r: [u8; 4], f: u8) -> Insn {
    Insn::new(o, r, f, 0)
}
pub fn halt() -> Insn {
    Insn::new(Opcode::Halt, [0; 4], 0, 0)
}

/// The decode table of the shipped firmware.
pub fn decode_table() -> [u16; 256] {
    let mut t = [EngineOp::ILLEGAL; 256];
    for &o in Opcode::ALL {
        t[o as usize] = o.engine_op().0;
    }
    t
}

pub fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|w| f32::from_le_bytes(w.try_into().unwrap()))
        .collect()
}
pub fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
pub fn bytes_i32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn f32(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
    }
}
