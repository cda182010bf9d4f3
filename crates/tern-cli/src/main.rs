// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern`: use TERN accelerators from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Use TERN accelerators.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Examples:\n  tern info\n  tern --device /dev/accel/accel1 info"
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
}

fn open(cli: &Cli) -> tern::Result<tern::Device> {
    match &cli.device {
        Some(p) => tern::Device::open(p),
        None => tern::Device::open_first(),
    }
}

fn info(cli: &Cli) -> anyhow::Result<()> {
    let dev = open(cli)?;
    let v = dev.driver_version()?;
    println!("device:  {}", dev.path().display());
    println!(
        "driver:  {} {}.{}.{} ({})",
        v.name, v.version.0, v.version.1, v.version.2, v.desc
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Info => info(&cli),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::from(1)
        }
    }
}
