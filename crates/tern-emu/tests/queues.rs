// SPDX-License-Identifier: MIT OR Apache-2.0
//! Queues, descriptors, completions and interrupts (`docs/hardware.md` 5).

mod common;
use common::*;
use tern_hw::queue::{Descriptor, qerr, status};
use tern_hw::regs::{self, q};

#[test]
fn nop_completes_with_record_fence_and_interrupt() {
    let mut t = TestDriver::ready();
    let s = t.submit(0, nop());
    let r = t.wait(0, s);
    assert_eq!((r.seqno, r.status), (s, status::OK));
    assert_eq!(t.fence(0), s);
    let (_, compl, ..) = t.queues[0].unwrap();
    assert_eq!(t.get(compl + 8, 4), 1u32.to_le_bytes());
}

#[test]
fn many_jobs_complete_in_order_across_ring_wrap() {
    let mut t = TestDriver::ready();
    let mut last = 0;
    for i in 0..200 {
        let mut d = nop();
        d.flags = if i % 50 == 49 { 1 } else { 0 };
        last = t.submit(0, d);
        if i % 50 == 49 {
            let r = t.wait(0, last);
            assert_eq!(r.status, status::OK);
        }
    }
    assert_eq!(t.fence(0), last);
}

#[test]
fn queues_are_independent() {
    let mut t = TestDriver::ready();
    t.enable_queue(2, 16);
    let a = t.submit(0, nop());
    let b = t.submit(2, nop());
    assert_eq!(t.wait(2, b).status, status::OK);
    assert_eq!(t.wait(0, a).status, status::OK);
}

#[test]
fn bad_descriptors_fail_only_their_job() {
    let mut t = TestDriver::ready();
    let bad = [
        Descriptor { opcode: 7, ..nop() },
        Descriptor {
            flags: 0x80,
            ..nop()
        },
        Descriptor {
            cmd_len: 12,
            ..exec(1, 0x1000, 0)
        },
        Descriptor {
            cmd_len: 2 << 20,
            ..exec(1, 0x1000, 0)
        },
    ];
    for d in bad {
        let s = t.submit(0, d);
        assert_eq!(t.wait(0, s).status, status::BAD_DESCRIPTOR, "{d:?}");
    }
    for byte in [2, 3, 33, 63] {
        let mut raw = Descriptor {
            seqno: t.queues[0].unwrap().4,
            ..nop()
        }
        .to_bytes();
        raw[byte] = 1;
        assert!(Descriptor::from_bytes(&raw).reserved_set);
        let s = t.submit_raw(0, raw);
        assert_eq!(
            t.wait(0, s).status,
            status::BAD_DESCRIPTOR,
            "reserved byte {byte}"
        );
    }
    let s = t.submit(0, nop());
    assert_eq!(t.wait(0, s).status, status::OK, "the queue goes on");
}

#[test]
fn enable_needs_ready_and_a_valid_ring() {
    let mut t = TestDriver::new();
    let ring = t.alloc(4096);
    let w = |o, v| t.w32(TestDriver::qreg(1, o), v);
    w(q::RING_LO, ring as u32);
    w(q::RING_HI, (ring >> 32) as u32);
    w(q::COMPL_LO, ring as u32);
    w(q::COMPL_HI, (ring >> 32) as u32);
    w(q::RING_SIZE, 64);
    w(q::CTRL, q::CTRL_ENABLE);
    assert_eq!(
        t.r32(TestDriver::qreg(1, q::STATUS)),
        q::STATUS_ERROR,
        "not READY"
    );
    assert_eq!(t.boot(&firmware()), 1);
    t.w32(regs::ABI_SELECT, 1);
    for bad in [0, 8, 48, 8192] {
        t.w32(TestDriver::qreg(1, q::RING_SIZE), bad);
        t.w32(TestDriver::qreg(1, q::CTRL), q::CTRL_ENABLE);
        assert_eq!(
            t.r32(TestDriver::qreg(1, q::STATUS)),
            q::STATUS_ERROR,
            "size {bad}"
        );
    }
    t.w32(TestDriver::qreg(1, q::RING_SIZE), 16);
    t.w32(TestDriver::qreg(1, q::CTRL), q::CTRL_ENABLE);
    assert_eq!(t.r32(TestDriver::qreg(1, q::STATUS)), q::STATUS_ENABLED);
}

#[test]
fn doorbell_beyond_ring_is_ignored() {
    let mut t = TestDriver::ready();
    t.w32(regs::DOORBELL_BASE, 64);
    let s = t.submit(0, nop());
    assert_eq!(t.wait(0, s).status, status::OK);
    assert_eq!(t.fence(0), s);
}

#[test]
fn queue_stops_without_bus_master() {
    let mut t = TestDriver::ready();
    t.dev.config.lock().unwrap().write(4, &[0x02, 0x00]);
    let s = t.submit(0, nop());
    assert!(wait_irq(&t.irqs[1], 1000) >= 1, "queue error interrupt");
    assert_eq!(
        t.r32(TestDriver::qreg(0, q::STATUS)) & q::STATUS_ERROR,
        q::STATUS_ERROR
    );
    assert!(t.fence(0) < s, "nothing ran");
    // Without bus mastering the device writes nothing, not even the error code.
    let (_, compl, ..) = t.queues[0].unwrap();
    assert_eq!(
        t.get(compl + 12, 4),
        [0; 4],
        "error code not written by DMA"
    );
    let _ = qerr::RING_DMA;
}

#[test]
fn enable_without_bus_master_fails_and_writes_nothing() {
    let mut t = TestDriver::ready();
    let ring = t.alloc(4096);
    let compl = t.alloc(4096);
    t.put(compl, &[0xaa; 16]);
    t.dev.config.lock().unwrap().write(4, &[0x02, 0x00]);
    let w = |o, v| t.w32(TestDriver::qreg(1, o), v);
    w(q::RING_LO, ring as u32);
    w(q::RING_HI, (ring >> 32) as u32);
    w(q::COMPL_LO, compl as u32);
    w(q::COMPL_HI, (compl >> 32) as u32);
    w(q::RING_SIZE, 16);
    w(q::CTRL, q::CTRL_ENABLE);
    assert_eq!(t.r32(TestDriver::qreg(1, q::STATUS)), q::STATUS_ERROR);
    assert_eq!(
        t.get(compl, 16),
        vec![0xaa; 16],
        "completion area not zeroed"
    );
}
