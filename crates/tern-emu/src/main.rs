// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-emu`: serves the TERN device on a vfio-user socket.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use tern_emu::backend::{Backend, irqs, regions};
use tern_emu::device::Device;
use vfio_user::Server;

/// The TERN accelerator device model, served over vfio-user.
///
/// Example: `tern-emu --socket /run/tern.sock`, then start QEMU with
/// `-device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"/run/tern.sock"}}'`.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Path of the vfio-user socket to listen on (must not exist).
    #[arg(long, short)]
    socket: PathBuf,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: log::LevelFilter,
    /// Serve one client connection, then exit (by default a new client is awaited).
    #[arg(long)]
    once: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    env_logger::Builder::new()
        .filter_level(args.log_level)
        .format_target(false)
        .init();

    let server = Server::new(&args.socket, true, irqs(), regions())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot listen on {}", args.socket.display()))?;
    let socket = args.socket.clone();
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            log::info!("signal {sig}: shutting down");
            let _ = std::fs::remove_file(&socket);
            std::process::exit(0);
        }
    });

    let dev = Arc::new(Device::new());
    log::info!("listening on {}", args.socket.display());
    loop {
        let mut backend = Backend::new(dev.clone());
        match server.run(&mut backend) {
            Ok(()) => log::info!("client disconnected"),
            Err(e) => log::warn!("client session ended: {e}"),
        }
        dev.disconnect();
        if args.once {
            return Ok(());
        }
        log::info!("waiting for a new client");
    }
}
