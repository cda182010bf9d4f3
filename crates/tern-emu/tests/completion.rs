// SPDX-License-Identifier: MIT OR Apache-2.0
//! Completion of `CTX_INVALIDATE`, device reset and queue reset (`docs/hardware.md` 7.1, 9,
//! 10.2), bounded even while long instructions or slow DMA run; event page and bus master
//! rules; lost wake-ups; guest addresses that overflow.

mod common;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use tern_emu::device::Device;
use tern_emu::dma::MessagePath;
use tern_emu::faults::Knob;
use tern_hw::events::EVENT_INVAL_DONE;
use tern_hw::mmu::PAGE_SIZE;
use tern_hw::queue::{fault, status};
use tern_hw::regs::{self, q};
use tern_hw::{BootStatus, dev_status};
use tern_isa::{Insn, Opcode};

const PROG: u64 = 0x10_0000;
const A: u64 = 0x1000_0000;
const B: u64 = 0x2000_0000;
const C: u64 = 0x3000_0000;

/// A zeroed event page, programmed.
fn event_page(t: &mut TestDriver) -> u64 {
    let page = t.alloc(4096);
    t.w32(regs::EVENT_ADDR_LO, page as u32);
    t.w32(regs::EVENT_ADDR_HI, (page >> 32) as u32);
    page
}

fn get32(t: &TestDriver, addr: u64) -> u32 {
    u32::from_le_bytes(t.get(addr, 4).try_into().unwrap())
}

/// Waits until `inval_done` reaches `n`; returns how long it took.
fn wait_inval(t: &TestDriver, page: u64, n: u32, limit: Duration) -> Duration {
    let t0 = Instant::now();
    while get32(t, page + EVENT_INVAL_DONE) != n {
        assert!(
            t0.elapsed() < limit,
            "inval_done stayed {} (want {n})",
            get32(t, page + EVENT_INVAL_DONE)
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    t0.elapsed()
}

/// Submits `prog` on queue `qn` in context 1 without waiting; returns its seqno.
fn start(t: &mut TestDriver, qn: usize, va: u64, prog: &[Insn], budget: u32) -> u64 {
    let bytes = tern_isa::encode_program(prog);
    let pa = t.map(1, va, bytes.len() as u64, false);
    t.put(pa, &bytes);
    let mut d = exec(1, va, bytes.len() as u32);
    d.budget = budget;
    t.submit(qn, d)
}

/// Starts a job that runs GEMMs of `dim`³ on queue `qn` until it is stopped; returns (seqno,
/// C's DMA address).
fn start_gemm(t: &mut TestDriver, qn: usize, dim: u64) -> (u64, u64) {
    let len = dim * dim * 4;
    let a = t.map(1, A, len, false);
    t.map(1, B, len, false);
    let c = t.map(1, C, len, true);
    t.put(a, &bytes_f32(&vec![1.0; (dim * dim) as usize]));
    let mut p = la(1, C);
    p.extend(la(2, A));
    p.extend(la(3, B));
    p.extend(la(4, dim));
    p.extend(la(5, dim));
    p.extend(la(6, dim));
    // Over and over, so the job is surely running when the test acts (a 2048^3 GEMM alone
    // takes only a few hundred milliseconds).
    p.push(op(Opcode::Gemm, [1, 2, 3, 4], 0));
    p.push(Insn::new(Opcode::Jmp, [0; 4], 0, (-2i32) as u32));
    (start(t, qn, PROG, &p, u32::MAX), c)
}

/// Starts a COPY of `len` bytes on queue `qn`; returns (seqno, destination DMA address).
fn start_copy(t: &mut TestDriver, qn: usize, len: u64) -> (u64, u64) {
    let src = t.map(1, A, len, false);
    let dst = t.map(1, B, len, true);
    t.put(src, &[0x5a; 4096]);
    let mut p = la(1, B);
    p.extend(la(2, A));
    p.extend(la(3, len));
    // Copy over and over, so the job is surely running when the test acts.
    p.push(op(Opcode::Copy, [1, 2, 3, 0], 0));
    p.push(Insn::new(Opcode::Jmp, [0; 4], 0, (-2i32) as u32));
    (start(t, qn, PROG, &p, u32::MAX), dst)
}

fn wait_running(t: &TestDriver, qn: usize, seqno: u64) {
    std::thread::sleep(Duration::from_millis(100));
    assert!(t.fence(qn) < seqno, "job still running");
}

/// Memory at `addr` does not change for a while: no DMA lands there any more.
fn stays(t: &TestDriver, addr: u64, len: usize) {
    let before = t.get(addr, len);
    std::thread::sleep(Duration::from_millis(200));
    assert!(t.get(addr, len) == before, "DMA landed after completion");
}

#[test]
fn invalidate_completes_counts_and_is_not_an_event_count() {
    let mut t = TestDriver::ready();
    let page = event_page(&mut t);
    while wait_irq(&t.irqs[0], 0) > 0 {}
    for n in 1..=3u32 {
        t.w32(regs::CTX_INVALIDATE, if n == 3 { u32::MAX } else { 1 });
        wait_inval(&t, page, n, Duration::from_secs(1));
        assert!(wait_irq(&t.irqs[0], 1000) >= 1, "vector 0 raised");
    }
    assert_eq!(get32(&t, page + 0x0c), 0, "event_count unchanged");
    // A device reset restarts the count.
    t.w32(regs::RESET, regs::RESET_MAGIC);
    let page = event_page(&mut t);
    t.w32(regs::CTX_INVALIDATE, 7);
    wait_inval(&t, page, 1, Duration::from_secs(1));
}

#[test]
fn running_job_sees_a_removed_mapping_after_the_ack() {
    let mut t = TestDriver::ready();
    let page = event_page(&mut t);
    let data = t.map(1, C, PAGE_SIZE, true);
    // Store an increasing counter to C forever.
    let mut p = la(1, C);
    p.push(Insn::new(Opcode::St, [3, 1, 0, 0], 0, 0));
    p.push(Insn::new(Opcode::Addi, [3, 3, 0, 0], 0, 1));
    p.push(Insn::new(Opcode::Jmp, [0; 4], 0, (-3i32) as u32));
    let s = start(&mut t, 0, PROG, &p, u32::MAX);
    wait_running(&t, 0, s);
    assert_ne!(t.get64(data), 0, "the job writes the page");
    // Unmap C (clear its level-2 entry), invalidate, wait for the ack.
    let root = t.get64(t.ctx_table + 16) & tern_hw::mmu::PTE_ADDR;
    let l1 = t.get64(root + ((C >> 30) & 511) * 8) & tern_hw::mmu::PTE_ADDR;
    let l2 = t.get64(l1 + ((C >> 21) & 511) * 8) & tern_hw::mmu::PTE_ADDR;
    t.put(l2 + ((C >> 12) & 511) * 8, &0u64.to_le_bytes());
    t.w32(regs::CTX_INVALIDATE, 1);
    let took = wait_inval(&t, page, 1, Duration::from_secs(2));
    // From the ack on, the page is not written any more: the job faults on it.
    t.put(data, &0u64.to_le_bytes());
    let r = t.wait(0, s);
    assert_eq!(
        (r.status, r.info, r.fault_va),
        (status::MMU_FAULT, fault::WRITE, C),
        "the job faults on the removed page"
    );
    assert_eq!(t.get64(data), 0, "no write after the ack");
    assert!(took < Duration::from_millis(1000), "ack took {took:?}");
}

#[test]
fn invalidate_completes_quickly_during_a_long_gemm_and_copy() {
    let mut t = TestDriver::ready();
    t.enable_queue(1, 16);
    let page = event_page(&mut t);
    let (g, _) = start_gemm(&mut t, 0, 2048);
    let (c, _) = start_copy(&mut t, 1, 64 << 20);
    wait_running(&t, 0, g);
    wait_running(&t, 1, c);
    for n in 1..=5 {
        t.w32(regs::CTX_INVALIDATE, 1);
        let took = wait_inval(&t, page, n, Duration::from_secs(2));
        assert!(took < Duration::from_millis(1000), "ack {n} took {took:?}");
    }
    for qn in [0, 1] {
        t.w32(TestDriver::qreg(qn, q::CTRL), q::CTRL_RESET);
        assert_eq!(t.r32(TestDriver::qreg(qn, q::STATUS)), 0);
    }
    assert_eq!(t.record_of(0, g).map(|r| r.status), Some(status::ABORTED));
}

/// A device with a 2048^3 GEMM running on queue 0 and a 64 MiB COPY loop on queue 1: the
/// device, the GEMM's seqno and C matrix, the COPY's seqno and destination.
fn gemm_and_copy_running() -> (TestDriver, u64, u64, u64, u64) {
    let mut t = TestDriver::ready();
    t.enable_queue(1, 16);
    let (g, c) = start_gemm(&mut t, 0, 2048);
    let (cp, dst) = start_copy(&mut t, 1, 64 << 20);
    wait_running(&t, 0, g);
    wait_running(&t, 1, cp);
    (t, g, c, cp, dst)
}

#[test]
fn device_reset_is_complete_when_a_read_returns_even_during_a_gemm() {
    let (t, g, c, cp, dst) = gemm_and_copy_running();
    let t0 = Instant::now();
    t.w32(regs::RESET, regs::RESET_MAGIC);
    assert_eq!(t.r32(regs::DEV_STATUS), 0);
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1000), "reset took {took:?}");
    assert_eq!(t.record_of(0, g).map(|r| r.status), Some(status::ABORTED));
    assert_eq!(t.record_of(1, cp).map(|r| r.status), Some(status::ABORTED));
    let (_, compl0, ..) = t.queues[0].unwrap();
    let (_, compl1, ..) = t.queues[1].unwrap();
    stays(&t, dst, 1 << 20);
    stays(&t, c, 1 << 20);
    stays(&t, compl0, 64 + 64 * 32);
    stays(&t, compl1, 64 + 16 * 32);
}

#[test]
fn queue_reset_is_complete_when_status_is_read_even_during_a_gemm_or_copy() {
    let (t, g, c, cp, dst) = gemm_and_copy_running();
    for (qn, s, mem) in [(0, g, c), (1, cp, dst)] {
        let t0 = Instant::now();
        t.w32(TestDriver::qreg(qn, q::CTRL), q::CTRL_RESET);
        assert_eq!(t.r32(TestDriver::qreg(qn, q::STATUS)), 0);
        let took = t0.elapsed();
        assert!(took < Duration::from_millis(1000), "queue {qn}: {took:?}");
        assert_eq!(t.fence(qn), s, "record and fence written");
        assert_eq!(t.record_of(qn, s).map(|r| r.status), Some(status::ABORTED));
        stays(&t, mem, 1 << 20);
    }
}

/// A message-path window whose client answers slowly: reads wait up to 5 s unless the
/// calling device thread is cancelled; writes take `write_delay`.
struct Slow {
    write_delay: Duration,
    writes: AtomicBool,
}

impl MessagePath for Slow {
    fn read(&self, _addr: u64, _buf: &mut [u8]) -> std::io::Result<()> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if tern_emu::dma::cancelled() {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Err(std::io::ErrorKind::TimedOut.into())
    }
    fn write(&self, _addr: u64, _buf: &[u8]) -> std::io::Result<()> {
        self.writes.store(true, Ordering::SeqCst);
        std::thread::sleep(self.write_delay);
        Ok(())
    }
}

const SLOW: u64 = 0x8000_0000;

#[test]
fn queue_reset_is_bounded_with_a_message_path_dma_in_flight() {
    let mut t = TestDriver::ready();
    let slow = Arc::new(Slow {
        write_delay: Duration::ZERO,
        writes: AtomicBool::new(false),
    });
    t.dev.mem.set_path(Some(slow));
    t.dev.mem.map(SLOW, 1 << 20, 0, None).unwrap();
    // Queue 1's ring lies in the slow window: the worker blocks reading the descriptor.
    let compl = t.alloc(4096);
    let w = |o, v| t.w32(TestDriver::qreg(1, o), v);
    w(q::RING_LO, SLOW as u32);
    w(q::RING_HI, (SLOW >> 32) as u32);
    w(q::COMPL_LO, compl as u32);
    w(q::COMPL_HI, (compl >> 32) as u32);
    w(q::RING_SIZE, 16);
    w(q::CTRL, q::CTRL_ENABLE);
    assert_eq!(t.r32(TestDriver::qreg(1, q::STATUS)), q::STATUS_ENABLED);
    t.w32(regs::DOORBELL_BASE + 4, 1);
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    t.w32(TestDriver::qreg(1, q::CTRL), q::CTRL_RESET);
    assert_eq!(t.r32(TestDriver::qreg(1, q::STATUS)), 0);
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "queue reset took {took:?}"
    );
}

#[test]
fn registers_answer_while_an_event_page_write_is_slow() {
    let t = TestDriver::ready();
    let slow = Arc::new(Slow {
        write_delay: Duration::from_secs(2),
        writes: AtomicBool::new(false),
    });
    t.dev.mem.set_path(Some(slow.clone()));
    t.dev.mem.map(SLOW, 1 << 20, 0, None).unwrap();
    t.w32(regs::EVENT_ADDR_LO, SLOW as u32);
    t.w32(regs::EVENT_ADDR_HI, (SLOW >> 32) as u32);
    let dev = t.dev.shared();
    let crasher = std::thread::spawn(move || dev.crash(1));
    while !slow.writes.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let t0 = Instant::now();
    t.w32(regs::SCRATCH, 5);
    assert_eq!(t.r32(regs::SCRATCH), 5);
    assert_eq!(
        t.r32(regs::DEV_STATUS) & dev_status::HALTED,
        dev_status::HALTED
    );
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "registers blocked {took:?}"
    );
    crasher.join().unwrap();
}

#[test]
fn no_event_page_write_without_bus_master() {
    let mut t = TestDriver::new();
    let page = event_page(&mut t);
    t.dev.config.lock().unwrap().write(4, &[0x02, 0x00]);
    assert_eq!(t.boot(&firmware()), BootStatus::DmaError as u32);
    assert_eq!(t.get(page, 32), vec![0; 32], "event page untouched");
    t.w32(regs::CTX_INVALIDATE, 1);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(t.get(page, 32), vec![0; 32], "inval_done not written");
    t.dev.config.lock().unwrap().write(4, &[0x06, 0x00]);
    t.w32(regs::CTX_INVALIDATE, 1);
    wait_inval(&t, page, 2, Duration::from_secs(1));
}

#[test]
fn ctx_count_is_clamped_to_4096_and_the_last_context_works() {
    let mut t = TestDriver::ready();
    let table = t.alloc(4096 * 16);
    t.put(table, &t.get(t.ctx_table, 4096));
    t.ctx_table = table;
    t.w32(regs::CTX_TABLE_LO, table as u32);
    t.w32(regs::CTX_TABLE_HI, (table >> 32) as u32);
    t.w32(regs::CTX_COUNT, 5000);
    assert_eq!(t.r32(regs::CTX_COUNT), regs::MAX_CONTEXTS);
    assert_eq!(regs::MAX_CONTEXTS, 4096);
    t.new_context(4095);
    let r = t.run(0, 4095, PROG, &[halt()]);
    assert_eq!(r.status, status::OK);
}

/// Lost wake-ups hang a drop or leave a hung job unaborted; do both many times.
#[test]
fn no_lost_wakeups_in_drop_or_abort() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..300 {
            drop(Device::new());
        }
        let mut t = TestDriver::ready();
        for i in 0..100 {
            t.dev.faults.apply(&Knob::Hang(0));
            let s = t.submit(0, nop());
            if i % 2 == 0 {
                std::thread::yield_now();
            }
            t.dev.crash(1);
            // A job the queue had taken ends ABORTED; one it had not is never taken
            // (10.1). A lost wake-up in either would hang the reset below.
            let until = std::time::Instant::now() + Duration::from_millis(500);
            while t.fence(0) < s && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            if t.fence(0) >= s {
                assert_eq!(t.record_of(0, s).map(|r| r.status), Some(status::ABORTED));
            }
            t.dev.faults.apply(&Knob::Clear);
            t.w32(regs::RESET, regs::RESET_MAGIC);
            assert_eq!(t.boot(&firmware()), 1);
            t.w32(regs::ABI_SELECT, 1);
            t.enable_queue(0, 16);
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("a wake-up was lost");
}

/// Guest addresses near 2^64 fault instead of overflowing (a panic in debug builds).
#[test]
fn addresses_near_the_top_fault_without_overflow() {
    let mut t = TestDriver::ready();
    let prog = t.map(1, PROG, 4096, false);
    t.put(prog, &tern_isa::encode_program(&[halt()]));
    t.w32(regs::CTX_TABLE_LO, 0xffff_fff0);
    t.w32(regs::CTX_TABLE_HI, 0xffff_ffff);
    let s = t.submit(0, exec(1, PROG, 8));
    let r = t.wait(0, s);
    assert_eq!((r.status, r.info), (status::MMU_FAULT, fault::NO_CONTEXT));
    // Event page at the top: events and invalidate acks are dropped, not a panic.
    t.w32(regs::EVENT_ADDR_LO, 0xffff_fff8);
    t.w32(regs::EVENT_ADDR_HI, 0xffff_ffff);
    t.w32(regs::CTX_INVALIDATE, 1);
    t.dev.crash(2);
    assert!(wait_irq(&t.irqs[0], 1000) >= 1);
    t.w32(regs::RESET, regs::RESET_MAGIC);
    // Boot image at the top.
    t.w32(regs::BOOT_ADDR_LO, 0xffff_fffc);
    t.w32(regs::BOOT_ADDR_HI, 0xffff_ffff);
    t.w32(regs::BOOT_SIZE, 4096);
    t.w32(regs::BOOT_CTRL, 1);
    assert_eq!(t.r32(regs::BOOT_STATUS), BootStatus::DmaError as u32);
    // Ring and completion area at the top.
    assert_eq!(t.boot(&firmware()), 1);
    t.w32(regs::ABI_SELECT, 1);
    let w = |o, v| t.w32(TestDriver::qreg(2, o), v);
    w(q::RING_LO, 0xffff_ffc0);
    w(q::RING_HI, 0xffff_ffff);
    w(q::COMPL_LO, 0xffff_ffc0);
    w(q::COMPL_HI, 0xffff_ffff);
    w(q::RING_SIZE, 4096);
    w(q::CTRL, q::CTRL_ENABLE);
    // The enable is taken at once; clearing the completion area, after the write, fails
    // (5.2) and leaves the queue disabled with ERROR.
    let t0 = std::time::Instant::now();
    while t.r32(TestDriver::qreg(2, q::STATUS)) != q::STATUS_ERROR {
        assert!(t0.elapsed().as_secs() < 1, "the failed clear set no error");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn drop_ends_a_job_that_loops_forever() {
    let mut t = TestDriver::ready();
    let (c, _) = start_copy(&mut t, 0, 1 << 20);
    wait_running(&t, 0, c);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(t);
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(20)).is_ok(),
        "dropping the device waits for a job that never ends"
    );
}
