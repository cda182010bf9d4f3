// SPDX-License-Identifier: MIT OR Apache-2.0
//! Splitting one source line into labels, a mnemonic and operands.

use crate::error::ErrorKind;

/// A piece of a line and its 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    pub text: &'a str,
    pub col: usize,
}

/// One line, comments removed.
#[derive(Debug, Default)]
pub(crate) struct Line<'a> {
    pub labels: Vec<Tok<'a>>,
    pub mnemonic: Option<Tok<'a>>,
    pub operands: Vec<Tok<'a>>,
}

/// Splits `text`; an error carries its column.
pub(crate) fn split(text: &str) -> Result<Line<'_>, (usize, ErrorKind)> {
    let col = |off: usize| text[..off].chars().count() + 1;
    let code = &text[..text.find([';', '#']).unwrap_or(text.len())];
    let skip_ws = |p: usize| p + (code[p..].len() - code[p..].trim_start().len());
    let mut line = Line::default();
    let mut pos = skip_ws(0);

    // Labels: `name:` before the mnemonic, any number of them.
    loop {
        let rest = &code[pos..];
        let len = ident_len(rest);
        if len == 0 || !rest[len..].starts_with(':') {
            break;
        }
        line.labels.push(Tok {
            text: &rest[..len],
            col: col(pos),
        });
        pos = skip_ws(pos + len + 1);
    }
    if pos == code.len() {
        return Ok(line);
    }

    let rest = &code[pos..];
    let mlen = rest.find(char::is_whitespace).unwrap_or(rest.len());
    line.mnemonic = Some(Tok {
        text: &rest[..mlen],
        col: col(pos),
    });
    let ops_start = pos + mlen;
    if code[ops_start..].trim().is_empty() {
        return Ok(line);
    }

    let mut start = ops_start;
    for piece in code[ops_start..].split(',') {
        let lead = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        let at = start + lead;
        if trimmed.is_empty() {
            return Err((col(at), ErrorKind::MissingOperand));
        }
        if let Some(ws) = trimmed.find(char::is_whitespace) {
            let next = trimmed[ws..].trim_start();
            let off = at + (trimmed.len() - next.len());
            let word = &next[..next.find(char::is_whitespace).unwrap_or(next.len())];
            return Err((col(off), ErrorKind::ExpectedComma(word.to_string())));
        }
        line.operands.push(Tok {
            text: trimmed,
            col: col(at),
        });
        start += piece.len() + 1;
    }
    Ok(line)
}

/// Length of the identifier `[A-Za-z_][A-Za-z0-9_]*` at the start of `s` (0 if none).
pub(crate) fn ident_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first()
        .is_none_or(|c| !(c.is_ascii_alphabetic() || *c == b'_'))
    {
        return 0;
    }
    b.iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_labels_mnemonic_operands() {
        let l = split("a: b:\tadd r1, r2 ,r3 ; comment").unwrap();
        assert_eq!(
            l.labels,
            [Tok { text: "a", col: 1 }, Tok { text: "b", col: 4 }]
        );
        assert_eq!(
            l.mnemonic,
            Some(Tok {
                text: "add",
                col: 7
            })
        );
        let ops: Vec<_> = l.operands.iter().map(|t| (t.text, t.col)).collect();
        assert_eq!(ops, [("r1", 11), ("r2", 15), ("r3", 19)]);
        assert!(split("  # only a comment").unwrap().mnemonic.is_none());
    }

    #[test]
    fn operand_errors() {
        assert_eq!(
            split("add r1,,r2").unwrap_err(),
            (8, ErrorKind::MissingOperand)
        );
        assert_eq!(
            split("add r1, r2,").unwrap_err(),
            (12, ErrorKind::MissingOperand)
        );
        assert_eq!(
            split("add r1, r2 r3").unwrap_err(),
            (12, ErrorKind::ExpectedComma("r3".into()))
        );
    }
}
