// SPDX-License-Identifier: MIT OR Apache-2.0
//! The execution engine: runs one job's program in its address space
//! (`docs/hardware.md` 8). Opcodes reach an operation only through the firmware's decode
//! table.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tern_hw::queue::{PROGRESS_INTERVAL, PROGRESS_PERIOD_NS};

/// The device looks at its clock for a time-driven progress write every this many counts (an
/// instruction costs far less than a clock read; 64 long instructions take well under the
/// period).
const CLOCK_EVERY: u64 = 64;
use tern_isa::{BinOp, EngineOp, F_I32, INSN_BYTES, Insn, Opcode, RedOp, UnOp};

use crate::mmu::{AddressSpace, MmuFault};

/// Most elements one instruction may touch.
pub const MAX_ELEMS: u64 = 1 << 26;
/// Largest GEMM operand, in elements.
pub const MAX_GEMM_ELEMS: u64 = 1 << 24;

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `HALT` or end of program.
    Ok,
    /// Translation fault.
    Fault(MmuFault),
    /// Illegal instruction at this index.
    Illegal(u32),
    /// Budget exhausted.
    Watchdog,
    /// Stopped by a reset.
    Aborted,
}

/// What a job needs besides its address space.
pub struct Env<'a> {
    /// The firmware's decode table.
    pub decode: &'a [u16; 256],
    /// Instruction budget.
    pub budget: u32,
    /// Set by a reset: stop at the next instruction.
    pub abort: &'a AtomicBool,
    /// Device clock in ns.
    pub now: &'a dyn Fn() -> u64,
    /// Progress counts of this job so far (`docs/hardware.md` 5.5).
    pub ticks: Cell<u64>,
    /// Publishes the progress count (called at least every `PROGRESS_INTERVAL` counts, and
    /// every `PROGRESS_PERIOD_NS` of running once the count has changed).
    pub heartbeat: &'a dyn Fn(u64),
    /// Device clock at the last `heartbeat` (or the job's start).
    pub published_at: Cell<u64>,
    /// True while a queue of higher priority runs a job (`docs/hardware.md` 5.7).
    pub preempted: &'a dyn Fn() -> bool,
}

impl Env<'_> {
    fn tick(&self, n: u64) {
        let before = self.ticks.get();
        let t = before + n;
        self.ticks.set(t);
        let crossed = |every: u64| t / every != before / every;
        if crossed(PROGRESS_INTERVAL) {
            self.publish(t, (self.now)());
        } else if crossed(CLOCK_EVERY) {
            let now = (self.now)();
            if now.wrapping_sub(self.published_at.get()) >= PROGRESS_PERIOD_NS {
                self.publish(t, now);
            }
        }
    }

    /// Publishes count `t`, read at device time `now`.
    fn publish(&self, t: u64, now: u64) {
        self.published_at.set(now);
        (self.heartbeat)(t);
    }
}

enum Stop {
    Fault(MmuFault),
    Illegal,
    Aborted,
}

/// A point where a long instruction may stop: acknowledges pending invalidations (no
/// translation is held here) and honours a reset.
/// Also counts progress, and waits here while a queue of higher priority runs a job (still
/// acknowledging invalidations, and counting a millisecond of waiting as progress).
fn poll(s: &mut AddressSpace<'_>, env: &Env<'_>) -> Result<(), Stop> {
    s.sync();
    env.tick(1);
    if env.abort.load(Ordering::Relaxed) {
        return Err(Stop::Aborted);
    }
    let mut waited = Duration::ZERO;
    while (env.preempted)() {
        std::thread::sleep(ARBITRATION_POLL);
        waited += ARBITRATION_POLL;
        s.sync();
        if env.abort.load(Ordering::Relaxed) {
            return Err(Stop::Aborted);
        }
        if waited >= Duration::from_millis(1) {
            waited = Duration::ZERO;
            env.tick(1);
            (env.heartbeat)(env.ticks.get());
        }
    }
    Ok(())
}

/// How often a job preempted by a higher-priority queue looks again.
const ARBITRATION_POLL: Duration = Duration::from_micros(50);

impl From<MmuFault> for Stop {
    fn from(f: MmuFault) -> Self {
        Stop::Fault(f)
    }
}

/// Runs `program` (instruction words) to completion.
pub fn run(space: &mut AddressSpace<'_>, program: &[u64], env: &Env<'_>) -> Outcome {
    let mut r = [0u64; 16];
    let mut pc: u64 = 0;
    let mut budget = env.budget;
    while let Some(&word) = program.get(pc as usize) {
        if poll(space, env).is_err() {
            return Outcome::Aborted;
        }
        if budget == 0 {
            return Outcome::Watchdog;
        }
        budget -= 1;
        let i = Insn::split(word);
        let Some(op) = EngineOp(env.decode[i.op as usize]).opcode() else {
            return Outcome::Illegal(pc as u32);
        };
        if !fields_ok(op, &i) {
            return Outcome::Illegal(pc as u32);
        }
        match step(space, &mut r, op, &i, pc, env) {
            Ok(Some(next)) => pc = next,
            Ok(None) => return Outcome::Ok,
            Err(Stop::Fault(f)) => return Outcome::Fault(f),
            Err(Stop::Illegal) => return Outcome::Illegal(pc as u32),
            Err(Stop::Aborted) => return Outcome::Aborted,
        }
        r[0] = 0;
    }
    Outcome::Ok
}

fn fields_ok(op: Opcode, i: &Insn) -> bool {
    let f = op.fields();
    (0..4).all(|k| f.regs[k] || i.r[k] == 0) && (f.f || i.f == 0) && (f.imm || i.imm == 0)
}

fn branch(pc: u64, i: &Insn) -> u64 {
    pc.wrapping_add(1).wrapping_add(i.simm() as u64)
}

/// Executes one instruction; returns the next pc, or None for HALT.
fn step(
    s: &mut AddressSpace<'_>,
    r: &mut [u64; 16],
    op: Opcode,
    i: &Insn,
    pc: u64,
    env: &Env<'_>,
) -> Result<Option<u64>, Stop> {
    let [a, b, c, d] = i.r.map(usize::from);
    let next = pc + 1;
    match op {
        Opcode::Nop => {}
        Opcode::Halt => return Ok(None),
        Opcode::Li => r[a] = i.simm() as u64,
        Opcode::Lih => r[a] = (r[a] & 0xffff_ffff) | u64::from(i.imm) << 32,
        Opcode::Add => r[a] = r[b].wrapping_add(r[c]),
        Opcode::Sub => r[a] = r[b].wrapping_sub(r[c]),
        Opcode::Mul => r[a] = r[b].wrapping_mul(r[c]),
        Opcode::Addi => r[a] = r[b].wrapping_add(i.simm() as u64),
        Opcode::Shl => r[a] = r[b] << (i.imm & 63),
        Opcode::Jmp => return Ok(Some(branch(pc, i))),
        Opcode::Bnz => return Ok(Some(if r[a] != 0 { branch(pc, i) } else { next })),
        Opcode::Bz => return Ok(Some(if r[a] == 0 { branch(pc, i) } else { next })),
        Opcode::Blt => return Ok(Some(if r[a] < r[b] { branch(pc, i) } else { next })),
        Opcode::Ld => {
            let va = r[b].wrapping_add(i.simm() as u64);
            if !va.is_multiple_of(8) {
                return Err(Stop::Illegal);
            }
            let mut v = [0u8; 8];
            s.read(va, &mut v)?;
            r[a] = u64::from_le_bytes(v);
        }
        Opcode::St => {
            let va = r[b].wrapping_add(i.simm() as u64);
            if !va.is_multiple_of(8) {
                return Err(Stop::Illegal);
            }
            s.write(va, &r[a].to_le_bytes())?;
        }
        Opcode::Ts => {
            if !r[a].is_multiple_of(8) {
                return Err(Stop::Illegal);
            }
            s.write(r[a], &(env.now)().to_le_bytes())?;
        }
        Opcode::Copy => {
            let len = r[c];
            if len > MAX_ELEMS * 4 {
                return Err(Stop::Illegal);
            }
            let (dst, src) = (r[a], r[b]);
            if len > 0 && dst < src.saturating_add(len) && src < dst.saturating_add(len) {
                return Err(Stop::Illegal);
            }
            s.check(src, len, false)?;
            s.check(dst, len, true)?;
            let mut off = 0;
            while off < len {
                poll(s, env)?;
                let n = (len - off).min(COPY_CHUNK);
                s.copy(dst + off, src + off, n)?;
                off += n;
            }
        }
        Opcode::Fill => {
            let n = elems(r[c])?;
            aligned(&[r[a]])?;
            s.check(r[a], n * 4, true)?;
            let pattern = (r[b] as u32).to_le_bytes();
            let chunk: Vec<u8> = pattern
                .iter()
                .copied()
                .cycle()
                .take(CHUNK.min(n as usize * 4))
                .collect();
            let mut off = 0;
            while off < n * 4 {
                poll(s, env)?;
                let len = (n * 4 - off).min(chunk.len() as u64);
                s.write(r[a] + off, &chunk[..len as usize])?;
                off += len;
            }
        }
        Opcode::Ew | Opcode::Ews => {
            let n = elems(r[d])?;
            let i32t = i.f & F_I32 != 0;
            let bop = BinOp::from_bits(i.f & 0x0f)
                .filter(|_| i.f & 0x70 == 0)
                .ok_or(Stop::Illegal)?;
            if i32t && bop == BinOp::Div {
                return Err(Stop::Illegal);
            }
            let scalar = (op == Opcode::Ews).then_some(r[c] as u32);
            let srcs: Vec<u64> = if scalar.is_some() {
                vec![r[b]]
            } else {
                vec![r[b], r[c]]
            };
            aligned(&[r[a], r[b]])?;
            aligned(&srcs)?;
            check_ranges(s, r[a], &srcs, n)?;
            elementwise(s, env, r[a], &srcs, n, |x| {
                let y = scalar.unwrap_or(x.get(1).copied().unwrap_or(0));
                if i32t {
                    bin_i32(bop, x[0], y)
                } else {
                    bin_f32(bop, x[0], y)
                }
            })?;
        }
        Opcode::Ewu => {
            let n = elems(r[d])?;
            let i32t = i.f & F_I32 != 0;
            let uop = UnOp::from_bits(i.f & 0x0f)
                .filter(|_| i.f & 0x70 == 0)
                .ok_or(Stop::Illegal)?;
            if i32t && uop == UnOp::Sqrt {
                return Err(Stop::Illegal);
            }
            aligned(&[r[a], r[b]])?;
            check_ranges(s, r[a], &[r[b]], n)?;
            elementwise(s, env, r[a], &[r[b]], n, |x| {
                if i32t {
                    un_i32(uop, x[0])
                } else {
                    un_f32(uop, x[0])
                }
            })?;
        }
        Opcode::Red => {
            let n = elems(r[d])?;
            if n == 0 {
                return Err(Stop::Illegal);
            }
            let i32t = i.f & F_I32 != 0;
            let rop = RedOp::from_bits(i.f & 0x0f)
                .filter(|_| i.f & 0x70 == 0)
                .ok_or(Stop::Illegal)?;
            aligned(&[r[a], r[b]])?;
            check_ranges(s, r[a], &[r[b]], 1)?;
            s.check(r[b], n * 4, false)?;
            let mut acc: Option<u32> = None;
            let mut buf = vec![0u8; CHUNK.min(n as usize * 4)];
            let mut off = 0;
            while off < n * 4 {
                poll(s, env)?;
                let len = (n * 4 - off).min(buf.len() as u64) as usize;
                s.read(r[b] + off, &mut buf[..len])?;
                for w in buf[..len].chunks_exact(4) {
                    let x = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    acc = Some(match acc {
                        None => x,
                        Some(a) if i32t => bin_i32(fold_op(rop), a, x),
                        Some(a) => bin_f32(fold_op(rop), a, x),
                    });
                }
                off += len as u64;
            }
            s.write(r[a], &acc.unwrap_or(0).to_le_bytes())?;
        }
        Opcode::Gemm => {
            if d > 13 || i.f & !1 != 0 {
                return Err(Stop::Illegal);
            }
            gemm(
                s,
                env,
                r[a],
                r[b],
                r[c],
                (r[d], r[d + 1], r[d + 2]),
                i.f & 1 != 0,
            )?;
        }
    }
    Ok(Some(next))
}

/// Bytes an elementwise instruction, FILL, RED or GEMM's loads and stores handle between two
/// polls.
const CHUNK: usize = 64 * 1024;
/// Bytes COPY moves between two polls.
const COPY_CHUNK: u64 = 1 << 20;
/// GEMM multiply-adds between two polls.
const GEMM_POLL: usize = 1 << 16;

fn elems(n: u64) -> Result<u64, Stop> {
    if n > MAX_ELEMS {
        Err(Stop::Illegal)
    } else {
        Ok(n)
    }
}

fn aligned(vas: &[u64]) -> Result<(), Stop> {
    if vas.iter().all(|v| v % 4 == 0) {
        Ok(())
    } else {
        Err(Stop::Illegal)
    }
}

/// Translates every operand page before anything is written.
fn check_ranges(s: &mut AddressSpace<'_>, dst: u64, srcs: &[u64], n: u64) -> Result<(), Stop> {
    for &src in srcs {
        s.check(src, n * 4, false)?;
    }
    s.check(dst, n * 4, true)?;
    Ok(())
}

fn elementwise(
    s: &mut AddressSpace<'_>,
    env: &Env<'_>,
    dst: u64,
    srcs: &[u64],
    n: u64,
    f: impl Fn(&[u32]) -> u32,
) -> Result<(), Stop> {
    let total = n * 4;
    let mut ins: Vec<Vec<u8>> = srcs
        .iter()
        .map(|_| vec![0u8; CHUNK.min(total as usize)])
        .collect();
    let mut out = vec![0u8; CHUNK.min(total as usize)];
    let mut off = 0;
    while off < total {
        poll(s, env)?;
        let len = (total - off).min(CHUNK as u64) as usize;
        for (buf, &src) in ins.iter_mut().zip(srcs) {
            s.read(src + off, &mut buf[..len])?;
        }
        let mut x = [0u32; 2];
        for k in (0..len).step_by(4) {
            for (j, buf) in ins.iter().enumerate() {
                x[j] = u32::from_le_bytes([buf[k], buf[k + 1], buf[k + 2], buf[k + 3]]);
            }
            out[k..k + 4].copy_from_slice(&f(&x[..ins.len()]).to_le_bytes());
        }
        s.write(dst + off, &out[..len])?;
        off += len as u64;
    }
    Ok(())
}

/// f32 maximum (`docs/hardware.md` 8.3): a NaN operand gives the other operand (NaN only if
/// both are), +0 is greater than −0.
fn max_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() { a } else { b }
    } else if a >= b {
        a
    } else {
        b
    }
}

/// f32 minimum: as [`max_f32`], −0 is less than +0.
fn min_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else if a <= b {
        a
    } else {
        b
    }
}

fn bin_f32(op: BinOp, a: u32, b: u32) -> u32 {
    let (a, b) = (f32::from_bits(a), f32::from_bits(b));
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Max => max_f32(a, b),
        BinOp::Min => min_f32(a, b),
    }
    .to_bits()
}

fn bin_i32(op: BinOp, a: u32, b: u32) -> u32 {
    let (a, b) = (a as i32, b as i32);
    (match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div => 0, // refused before execution
        BinOp::Max => a.max(b),
        BinOp::Min => a.min(b),
    }) as u32
}

fn un_f32(op: UnOp, x: u32) -> u32 {
    let x = f32::from_bits(x);
    match op {
        UnOp::Neg => -x,
        UnOp::Abs => x.abs(),
        UnOp::Relu => max_f32(x, 0.0),
        UnOp::Sqrt => x.sqrt(),
    }
    .to_bits()
}

fn un_i32(op: UnOp, x: u32) -> u32 {
    let x = x as i32;
    (match op {
        UnOp::Neg => x.wrapping_neg(),
        UnOp::Abs => x.wrapping_abs(),
        UnOp::Relu => x.max(0),
        UnOp::Sqrt => 0, // refused before execution
    }) as u32
}

/// The binary operation a reduction folds with.
fn fold_op(op: RedOp) -> BinOp {
    match op {
        RedOp::Sum => BinOp::Add,
        RedOp::Max => BinOp::Max,
        RedOp::Min => BinOp::Min,
    }
}

/// Reads `n` f32 at `va`, in pieces with a poll before each.
fn read_f32s(s: &mut AddressSpace<'_>, env: &Env<'_>, va: u64, n: u64) -> Result<Vec<f32>, Stop> {
    let mut out = Vec::with_capacity(n as usize);
    let mut b = vec![0u8; CHUNK.min(n as usize * 4)];
    let mut off = 0;
    while off < n * 4 {
        poll(s, env)?;
        let len = (n * 4 - off).min(CHUNK as u64) as usize;
        s.read(va + off, &mut b[..len])?;
        out.extend(
            b[..len]
                .chunks_exact(4)
                .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]])),
        );
        off += len as u64;
    }
    Ok(out)
}

/// Writes `v` at `va`, in pieces with a poll before each.
fn write_f32s(s: &mut AddressSpace<'_>, env: &Env<'_>, va: u64, v: &[f32]) -> Result<(), Stop> {
    let mut b = Vec::with_capacity(CHUNK);
    for (i, part) in v.chunks(CHUNK / 4).enumerate() {
        poll(s, env)?;
        b.clear();
        b.extend(part.iter().flat_map(|x| x.to_le_bytes()));
        s.write(va + (i * CHUNK) as u64, &b)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    s: &mut AddressSpace<'_>,
    env: &Env<'_>,
    c_va: u64,
    a_va: u64,
    b_va: u64,
    (m, n, k): (u64, u64, u64),
    acc: bool,
) -> Result<(), Stop> {
    let ok = |x: u64, y: u64| x.checked_mul(y).is_some_and(|p| p <= MAX_GEMM_ELEMS);
    if m == 0 || n == 0 || k == 0 || !ok(m, n) || !ok(m, k) || !ok(k, n) {
        return Err(Stop::Illegal);
    }
    aligned(&[a_va, b_va, c_va])?;
    s.check(a_va, m * k * 4, false)?;
    s.check(b_va, k * n * 4, false)?;
    s.check(c_va, m * n * 4, true)?;
    let a = read_f32s(s, env, a_va, m * k)?;
    let b = read_f32s(s, env, b_va, k * n)?;
    let mut c = if acc {
        read_f32s(s, env, c_va, m * n)?
    } else {
        vec![0.0f32; (m * n) as usize]
    };
    let (m, n, k) = (m as usize, n as usize, k as usize);
    // Blocked and vectorised in `gemm`, same bits as the manual's order. It polls after each
    // register block; the device's poll point comes at least every GEMM_POLL multiply-adds.
    let mut work = 0;
    crate::gemm::gemm(&a, &b, &mut c, (m, n, k), || {
        work += crate::gemm::BLOCK_WORK;
        if work >= GEMM_POLL {
            work = 0;
            poll(s, env)
        } else {
            Ok(())
        }
    })?;
    write_f32s(s, env, c_va, &c)
}

/// Splits program bytes into instruction words.
pub fn words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(INSN_BYTES)
        .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        .collect()
}
