// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tern-upstream`: writes the in-tree driver of one upstream step (or the out-of-tree sources
//! without their markers) from the driver's sources, and checks the markers of every step.

mod markers;
mod steps;

use std::{collections::BTreeSet, fs, path::PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use markers::Tree;

#[derive(Parser)]
#[command(about = "Generates the in-tree TERN driver of each upstream step")]
struct Cli {
    /// The driver's source directory.
    #[arg(long, default_value = "src")]
    src: PathBuf,
    /// The steps file.
    #[arg(long, default_value = "upstream/steps")]
    steps: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum TreeArg {
    In,
    Out,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes the sources of the driver as of step NAME into DIR.
    Stage {
        /// The step.
        step: String,
        /// The output directory (created; files of later steps are not written).
        dir: PathBuf,
        /// In tree (drivers/accel/tern) or out of tree.
        #[arg(long, value_enum, default_value = "in")]
        tree: TreeArg,
    },
    /// Prints FILE (any file with markers, such as the Kconfig entry) as of step NAME, in tree.
    Filter {
        /// The step.
        step: String,
        /// The file.
        file: PathBuf,
    },
    /// Prints the step names in order.
    List,
    /// Filters every file for every step in both trees: fails on any bad marker.
    Check,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut sources = BTreeSet::new();
    for e in fs::read_dir(&cli.src).with_context(|| format!("reading {}", cli.src.display()))? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") {
            sources.insert(name);
        }
    }
    let text = fs::read_to_string(&cli.steps)
        .with_context(|| format!("reading {}", cli.steps.display()))?;
    let steps = steps::parse(&text, &sources)?;
    let names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
    let read =
        |f: &str| fs::read_to_string(cli.src.join(f)).with_context(|| format!("reading {f}"));
    let step_index = |step: &str| match names.iter().position(|n| n == step) {
        Some(i) => Ok(i),
        None => bail!("unknown step '{step}' (steps: {})", names.join(" ")),
    };
    match cli.cmd {
        Cmd::List => {
            for n in &names {
                println!("{n}");
            }
        }
        Cmd::Check => {
            for (i, s) in steps.iter().enumerate() {
                for f in steps.iter().take(i + 1).flat_map(|s| &s.files) {
                    let t = read(f)?;
                    markers::filter(f, &t, &names, i, Tree::In)?;
                    markers::filter(f, &t, &names, i, Tree::Out)?;
                }
                println!(
                    "{}: {} files",
                    s.name,
                    steps[..=i].iter().map(|s| s.files.len()).sum::<usize>()
                );
            }
        }
        Cmd::Filter { step, file } => {
            let i = step_index(&step)?;
            let text =
                fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            print!("{}", markers::filter(&name, &text, &names, i, Tree::In)?);
        }
        Cmd::Stage { step, dir, tree } => {
            let i = step_index(&step)?;
            let tree = match tree {
                TreeArg::In => Tree::In,
                TreeArg::Out => Tree::Out,
            };
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for f in steps[..=i].iter().flat_map(|s| &s.files) {
                let out = markers::filter(f, &read(f)?, &names, i, tree)?;
                fs::write(dir.join(f), out).with_context(|| format!("writing {f}"))?;
            }
        }
    }
    Ok(())
}
