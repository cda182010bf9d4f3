// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern`: use TERN accelerators from the command line.

mod bench;
mod bench_copy;
mod bench_priority;
mod floor;
mod gemm;
mod pipeline;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use tern::{Arg, prepare};

/// Use TERN accelerators.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Examples:\n  \
    tern info\n  \
    tern asm kernels/vadd_f32.s -o vadd.bin\n  \
    tern disasm vadd.bin\n  \
    tern run kernels/vadd_f32.s --arg buf:4096 --arg file:a.bin --arg file:b.bin --arg int:1024 --print 0:f32\n  \
    tern gemm 64 64 64\n  \
    tern bench\n\n\
    Exit status: 0 success, 1 error, 2 usage error, 3 the job failed on the device."
)]
struct Cli {
    /// Device node (default: the first TERN device found in /sys/class/accel).
    #[arg(long, short, global = true)]
    device: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show the device, its driver and firmware.
    Info,
    /// Assemble a program (text -> binary).
    Asm {
        /// Assembly source.
        source: PathBuf,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Disassemble a program (binary -> text).
    Disasm {
        /// Program binary.
        binary: PathBuf,
    },
    /// Assemble a program, allocate its arguments, run it, print or save results.
    Run(RunArgs),
    /// Run a GEMM on the device and check it against the CPU.
    Gemm {
        /// Rows of A and C.
        m: usize,
        /// Columns of B and C.
        n: usize,
        /// Columns of A, rows of B.
        k: usize,
    },
    /// Decode a device coredump (from /sys/class/devcoredump/devcdN/data, or a saved copy).
    Coredump {
        /// The dump.
        file: PathBuf,
    },
    /// Throughput of a two-stage copy pipeline on one device and across two (dma-buf sharing).
    Pipeline {
        /// MiB per round.
        #[arg(long, default_value_t = 16)]
        size: u64,
        /// Rounds per figure.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Measure job latency and throughput against the platform floor (needs root: the floor
    /// is the driver's debugfs self-test).
    Bench {
        /// Jobs per measurement.
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
        /// Also measure priorities: a short job's latency under a flood of low-priority jobs
        /// (this many probe jobs per figure).
        #[arg(long)]
        priority: Option<usize>,
        /// Size of the COPY job measured against the guest CPU's memcpy, in MiB (at most 256,
        /// the largest COPY); 0 leaves it out.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=256))]
        copy_mib: u64,
    },
}

/// Arguments of `tern run`.
#[derive(clap::Args)]
struct RunArgs {
    /// Assembly source.
    program: PathBuf,
    /// Arguments in order, placed as u64s at device VA 0x10000: buf:SIZE (zeroed buffer),
    /// file:PATH (buffer with the file's bytes), int:N.
    #[arg(long = "arg", value_parser = Arg::parse)]
    args: Vec<Arg>,
    /// Print buffer argument I after the job as f32, i32 or hex: I:f32.
    #[arg(long)]
    print: Vec<String>,
    /// Save buffer argument I to a file after the job: I=PATH.
    #[arg(long)]
    save: Vec<String>,
    /// Hardware queue.
    #[arg(long, default_value_t = 0)]
    queue: u32,
    /// Seconds to wait for the job.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

fn open(cli: &Cli) -> tern::Result<tern::Device> {
    match &cli.device {
        Some(p) => tern::Device::open(p),
        None => tern::Device::open_first(),
    }
}

fn info(dev: &tern::Device) -> Result<()> {
    let v = dev.driver_version()?;
    let q = dev.query()?;
    println!("device:     {}", dev.path().display());
    println!(
        "driver:     {} {}.{}.{} ({}), uAPI {}",
        v.name, v.version.0, v.version.1, v.version.2, v.desc, q.uapi_version
    );
    println!("hardware:   TERN {}.{}", q.hw_version.0, q.hw_version.1);
    println!(
        "firmware:   {}.{}.{}, ABI {}",
        q.fw_version.0, q.fw_version.1, q.fw_version.2, q.fw_abi
    );
    println!("caps:       {}", q.cap_names().join(" "));
    println!("queues:     {}", q.queue_count);
    println!("device VA:  {:#x}..{:#x}", q.va_range.start, q.va_range.end);
    println!(
        "limits:     buffer {} MiB, program {} KiB, {} buffers per job",
        q.max_bo_size >> 20,
        q.max_cmd_len >> 10,
        q.max_submit_bos
    );
    Ok(())
}

/// Prints a decoded coredump, with the hung job's program disassembled.
fn coredump(file: &PathBuf) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let dump = tern::coredump::Coredump::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    print!("{}", dump.report());
    if let Some((va, prog)) = &dump.program {
        println!("\nprogram at {va:#x}, disassembled:");
        match tern_asm::disassemble(prog) {
            Ok(t) => print!("{t}"),
            Err(e) => println!("  (cannot disassemble: {e})"),
        }
    }
    Ok(())
}

fn read_source(p: &PathBuf) -> Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    tern_asm::assemble_bytes(&text).map_err(|e| anyhow::anyhow!("{}:{e}", p.display()))
}

fn index_of(spec: &str, sep: char) -> Result<(usize, &str)> {
    let (i, rest) = spec
        .split_once(sep)
        .with_context(|| format!("'{spec}': expected I{sep}..."))?;
    Ok((
        i.parse()
            .with_context(|| format!("'{i}' is not an argument index"))?,
        rest,
    ))
}

fn run(cli: &Cli, a: &RunArgs) -> Result<()> {
    let RunArgs {
        program,
        args,
        print,
        save,
        queue,
        timeout,
    } = a;
    let code = read_source(program)?;
    let dev = open(cli)?;
    let mut p = prepare(&dev, &code, args)?;
    let c = p.run(*queue, Duration::from_secs(*timeout))?;
    eprintln!(
        "job: {} in {:.3} ms",
        c.status,
        c.duration.as_secs_f64() * 1e3
    );
    if !c.status.is_done() {
        return Err(JobFailed(c.status).into());
    }
    for spec in print {
        let (i, ty) = index_of(spec, ':')?;
        let Some(Some(b)) = p.buffers.get_mut(i) else {
            bail!("argument {i} is not a buffer")
        };
        let len = p.sizes[i];
        let bytes = &b.bytes()?[..len];
        let words = bytes.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]]);
        let items: Vec<String> = match ty {
            "f32" => words
                .map(|w| format!("{}", f32::from_le_bytes(w)))
                .collect(),
            "i32" => words
                .map(|w| format!("{}", i32::from_le_bytes(w)))
                .collect(),
            "hex" => words
                .map(|w| format!("{:08x}", u32::from_le_bytes(w)))
                .collect(),
            t => bail!("'{t}': print as f32, i32 or hex"),
        };
        println!("arg{i}: {}", items.join(" "));
    }
    for spec in save {
        let (i, path) = index_of(spec, '=')?;
        let len = p.sizes.get(i).copied().unwrap_or(0);
        let Some(Some(b)) = p.buffers.get_mut(i) else {
            bail!("argument {i} is not a buffer")
        };
        std::fs::write(path, &b.bytes()?[..len]).with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}

/// A job that ran but did not complete: exit status 3.
#[derive(Debug)]
pub struct JobFailed(pub tern::JobStatus);

impl std::fmt::Display for JobFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the job failed on the device: {}", self.0)
    }
}

impl std::error::Error for JobFailed {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Info => open(&cli).map_err(Into::into).and_then(|d| info(&d)),
        Cmd::Asm { source, output } => read_source(source).and_then(|b| {
            std::fs::write(output, b).with_context(|| format!("cannot write {}", output.display()))
        }),
        Cmd::Disasm { binary } => std::fs::read(binary)
            .with_context(|| format!("cannot read {}", binary.display()))
            .and_then(|b| tern_asm::disassemble(&b).map_err(Into::into))
            .map(|t| print!("{t}")),
        Cmd::Coredump { file } => coredump(file),
        Cmd::Run(a) => run(&cli, a),
        Cmd::Gemm { m, n, k } => open(&cli)
            .map_err(Into::into)
            .and_then(|d| gemm::gemm(&d, *m, *n, *k)),
        Cmd::Pipeline { size, rounds } => pipeline::pipeline(*size, *rounds),
        Cmd::Bench {
            jobs,
            priority,
            copy_mib,
        } => open(&cli)
            .map_err(Into::into)
            .and_then(|d| bench::bench(&d, *jobs, *copy_mib))
            .and_then(|()| priority.map_or(Ok(()), bench_priority::bench_priority)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e:#}");
            if e.downcast_ref::<JobFailed>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
