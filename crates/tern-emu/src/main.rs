// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-emu`: serves the TERN device on a vfio-user socket.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use tern_emu::control;
use tern_emu::device::Device;
use tern_emu::faults::Knob;

/// The TERN accelerator device model, served over vfio-user.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Fault injection (--inject, or one per line on the control socket or directory):\n  \
    boot-fail=STATUS  every boot fails with STATUS (a code 2..10 or a name such as bad_digest)\n  \
    boot-fail-once=STATUS  only the next boot fails with STATUS\n  \
    hang=Q            queue Q takes its next job and never completes it (until a reset)\n  \
    mmu-fault         the next job faults on its program address\n  \
    crash             the firmware crashes now (run time only)\n  \
    remove            surprise removal: the server exits at once (run time only)\n  \
    clear             all knobs off\n\n\
    Example:\n  tern-emu --socket /tmp/tern.sock --control /tmp/tern-ctl.sock\n  \
    qemu-system-x86_64 ... -device '{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"/tmp/tern.sock\"}}'"
)]
struct Args {
    /// Path of the vfio-user socket to listen on (must not exist).
    #[arg(long, short)]
    socket: PathBuf,
    /// Path of a control socket for fault injection at run time.
    #[arg(long)]
    control: Option<PathBuf>,
    /// Directory served like the control socket through files (NAME.req answered in NAME.ack),
    /// for a guest that shares a directory with the host.
    #[arg(long)]
    control_dir: Option<PathBuf>,
    /// A fault to inject from the start (repeatable).
    #[arg(long, value_parser = Knob::parse)]
    inject: Vec<Knob>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: log::LevelFilter,
    /// Serve one client connection, then exit (by default a new client is awaited).
    #[arg(long)]
    once: bool,
    /// Let the vfio_user crate's server own the client socket: fewer thread hops per message
    /// (lower MMIO latency), but DMA windows without an fd cannot be reached.
    #[arg(long)]
    direct: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    env_logger::Builder::new()
        .filter_level(args.log_level)
        .format_target(false)
        .init();

    if args.socket.exists() {
        anyhow::bail!("cannot listen on {}: it exists", args.socket.display());
    }
    let listener = std::os::unix::net::UnixListener::bind(&args.socket)
        .with_context(|| format!("cannot listen on {}", args.socket.display()))?;
    let mut paths = vec![args.socket.clone()];
    if let Some(c) = &args.control {
        paths.push(c.clone());
    }
    let cleanup = {
        let paths = paths.clone();
        move || {
            for p in &paths {
                let _ = std::fs::remove_file(p);
            }
        }
    };
    let exit_now: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        log::warn!("surprise removal: exiting");
        cleanup();
        std::process::exit(0);
    });

    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    let on_signal = exit_now.clone();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            log::info!("signal {sig}: shutting down");
            on_signal();
        }
    });

    let dev = Arc::new(Device::new());
    for k in &args.inject {
        control::apply(&dev, k, exit_now.as_ref());
    }
    if let Some(c) = &args.control {
        control::spawn(c, dev.shared(), exit_now.clone())
            .with_context(|| format!("cannot listen on {}", c.display()))?;
    }
    if let Some(d) = &args.control_dir {
        control::spawn_dir(d, dev.shared(), exit_now.clone())
            .with_context(|| format!("cannot serve {}", d.display()))?;
    }
    log::info!("listening on {}", args.socket.display());
    let served = if args.direct {
        let server = vfio_user::Server::from_owned_fd(
            std::os::fd::OwnedFd::from(listener),
            true,
            tern_emu::backend::irqs(),
            tern_emu::backend::regions(),
        );
        tern_emu::backend::serve(&server, &dev, args.once);
        Ok(())
    } else {
        tern_emu::proxy::serve(&listener, &dev, args.once)
    };
    let _ = std::fs::remove_file(&args.socket);
    served.context("cannot accept a client")
}
