// SPDX-License-Identifier: MIT OR Apache-2.0
//! `upstream/steps`: the driver's upstream steps in order, each with the source files it adds.
//!
//! One step per line: `NAME FILE...`; `#` starts a comment. Every file of the source directory
//! must be added by exactly one step.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

/// A step of the series.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    /// The step's name, as the markers name it.
    pub name: String,
    /// The files (relative to the source directory) that first appear in this step.
    pub files: Vec<String>,
}

/// Parses the steps file; `sources` are the files of the source directory.
pub fn parse(text: &str, sources: &BTreeSet<String>) -> Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        if steps.iter().any(|s| s.name == name) {
            bail!("steps:{}: step '{name}' is named twice", n + 1);
        }
        let files: Vec<String> = words.map(String::from).collect();
        for f in &files {
            if !sources.contains(f) {
                bail!("steps:{}: '{f}' is not a source file", n + 1);
            }
            if !seen.insert(f.clone()) {
                bail!("steps:{}: '{f}' is added twice", n + 1);
            }
        }
        steps.push(Step {
            name: name.to_string(),
            files,
        });
    }
    if let Some(f) = sources.difference(&seen).next() {
        bail!("steps: no step adds '{f}'");
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> BTreeSet<String> {
        ["a.rs", "b.rs"].map(String::from).into()
    }

    #[test]
    fn parses_in_order() {
        let s = parse("# c\none a.rs\n\ntwo b.rs # x\nthree\n", &src()).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["one", "two", "three"]);
        assert_eq!(s[1].files, ["b.rs"]);
    }

    #[test]
    fn every_file_once() {
        let e = |t: &str| parse(t, &src()).unwrap_err().to_string();
        assert_eq!(e("one a.rs\n"), "steps: no step adds 'b.rs'");
        assert_eq!(
            e("one a.rs b.rs\ntwo a.rs\n"),
            "steps:2: 'a.rs' is added twice"
        );
        assert_eq!(
            e("one a.rs c.rs b.rs\n"),
            "steps:1: 'c.rs' is not a source file"
        );
        assert_eq!(
            e("one a.rs b.rs\none\n"),
            "steps:2: step 'one' is named twice"
        );
    }
}
