// SPDX-License-Identifier: MIT OR Apache-2.0
//! The markers in the driver's sources that say what the in-tree driver of each upstream step
//! holds (docs/upstream.md, "Markers"). All of them are line comments, so the out-of-tree build
//! compiles the sources as they are:
//!
//! - `//@ step NAME {` ... `//@ }`: the lines between belong to step NAME and later ones;
//! - `CODE //@ step NAME`: this line belongs to step NAME and later ones;
//! - `//@ out-of-tree {` ... `//@ }`: the lines between exist only out of tree;
//! - `//@ in-tree: CODE`: in tree, the line is `CODE` (with the comment's indentation);
//! - `//@ before NAME: CODE`: in the steps before NAME, the line is `CODE` (with the comment's
//!   indentation), in both trees: the simpler form of a line that step NAME changes.
//!
//! Blocks nest; a line is kept when every block around it is.

use anyhow::{Result, bail};

/// Which build a source is filtered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tree {
    /// The out-of-tree module: the sources as they are, markers removed.
    Out,
    /// drivers/accel/tern in the kernel's tree.
    In,
}

/// What a marker opens.
enum Block {
    Step(usize),
    OutOfTree,
}

const MARK: &str = "//@";

/// Filters `text` (the file `name`) for the step at index `step` of `steps` in `tree`.
///
/// Fails on an unknown step, an unbalanced block or an unknown marker, naming the line.
pub fn filter(name: &str, text: &str, steps: &[String], step: usize, tree: Tree) -> Result<String> {
    let index = |s: &str, line: usize| -> Result<usize> {
        match steps.iter().position(|x| x == s) {
            Some(i) => Ok(i),
            None => bail!(
                "{name}:{line}: unknown step '{s}' (steps: {})",
                steps.join(" ")
            ),
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(Block, usize)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let kept = open.iter().all(|(b, _)| match b {
            Block::Step(s) => *s <= step,
            Block::OutOfTree => tree == Tree::Out,
        });
        let Some(at) = line.find(MARK) else {
            if kept {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        };
        let (code, marker) = (line[..at].trim_end(), line[at + MARK.len()..].trim());
        if !code.trim().is_empty() {
            // A marker at the end of a line of code.
            let Some(s) = marker.strip_prefix("step ") else {
                bail!("{name}:{n}: only '//@ step NAME' may follow code, not '{marker}'");
            };
            if kept && index(s.trim(), n)? <= step {
                out.push_str(code);
                out.push('\n');
            }
            continue;
        }
        let indent = &line[..at];
        if marker == "}" {
            if open.pop().is_none() {
                bail!("{name}:{n}: '//@ }}' closes no block");
            }
        } else if let Some(rest) = marker.strip_prefix("in-tree:") {
            if kept && tree == Tree::In {
                out.push_str(indent);
                out.push_str(rest.trim());
                out.push('\n');
            }
        } else if let Some(rest) = marker.strip_prefix("before ") {
            let Some((s, code)) = rest.split_once(':') else {
                bail!("{name}:{n}: '//@ before NAME: CODE' needs a ':'");
            };
            if kept && step < index(s.trim(), n)? {
                out.push_str(indent);
                out.push_str(code.trim());
                out.push('\n');
            }
        } else if marker == "out-of-tree {" {
            open.push((Block::OutOfTree, n));
        } else if let Some(s) = marker
            .strip_prefix("step ")
            .and_then(|s| s.strip_suffix('{'))
        {
            open.push((Block::Step(index(s.trim(), n)?), n));
        } else {
            bail!("{name}:{n}: unknown marker '{marker}'");
        }
    }
    if let Some((_, n)) = open.last() {
        bail!("{name}:{n}: block not closed");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<String> {
        ["a", "b"].map(String::from).to_vec()
    }

    const SRC: &str = "x\n//@ step b {\ny\n    //@ out-of-tree {\n    z\n    //@ }\n//@ }\nw //@ step b\n    //@ in-tree: v\n";

    #[test]
    fn lines_before_a_step() {
        let s = steps();
        let t = "  //@ before b: u\nw //@ step b\n";
        assert_eq!(filter("f", t, &s, 0, Tree::In).unwrap(), "  u\n");
        assert_eq!(filter("f", t, &s, 0, Tree::Out).unwrap(), "  u\n");
        assert_eq!(filter("f", t, &s, 1, Tree::Out).unwrap(), "w\n");
        let e = filter("f", "//@ before c: u\n", &s, 0, Tree::In).unwrap_err();
        assert_eq!(e.to_string(), "f:1: unknown step 'c' (steps: a b)");
        let e = filter("f", "//@ before b u\n", &s, 0, Tree::In).unwrap_err();
        assert_eq!(e.to_string(), "f:1: '//@ before NAME: CODE' needs a ':'");
    }

    #[test]
    fn steps_and_trees() {
        let s = steps();
        assert_eq!(filter("f", SRC, &s, 0, Tree::In).unwrap(), "x\n    v\n");
        assert_eq!(
            filter("f", SRC, &s, 1, Tree::In).unwrap(),
            "x\ny\nw\n    v\n"
        );
        assert_eq!(
            filter("f", SRC, &s, 1, Tree::Out).unwrap(),
            "x\ny\n    z\nw\n"
        );
        assert_eq!(filter("f", SRC, &s, 0, Tree::Out).unwrap(), "x\n");
    }

    #[test]
    fn bad_markers_are_refused_with_the_line() {
        let s = steps();
        let e = |t: &str| filter("f", t, &s, 1, Tree::In).unwrap_err().to_string();
        assert_eq!(
            e("//@ step c {\n//@ }\n"),
            "f:1: unknown step 'c' (steps: a b)"
        );
        assert_eq!(e("x\n//@ }\n"), "f:2: '//@ }' closes no block");
        assert_eq!(e("//@ step a {\n"), "f:1: block not closed");
        assert_eq!(e("//@ stpe a {\n"), "f:1: unknown marker 'stpe a {'");
        assert_eq!(
            e("x //@ in-tree: y\n"),
            "f:1: only '//@ step NAME' may follow code, not 'in-tree: y'"
        );
    }
}
