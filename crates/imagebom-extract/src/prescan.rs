//! A lexical pre-scan that bounds flow-collection nesting before libyaml sees a document.
//!
//! libyaml keeps one "simple key" slot per open `[`/`{` and walks all of them for every
//! token, so deeply nested flow collections cost O(tokens × depth) while scanning, long
//! before the nesting limit of the deserialiser applies (100 000 `[` take many seconds).
//! This scan finds where flow collections start (`[`/`{` at the start of a block value) and
//! counts brackets inside them. Where it is unsure it counts more, not fewer: a bracket in
//! an unusual place may be counted, but a real flow collection is never missed, except
//! inside what it takes for a block scalar body or a quoted string, which libyaml reads the
//! same way.

/// Returns the 1-based (line, column) where flow nesting first exceeds `limit`.
pub(crate) fn flow_too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    // A block scalar body being skipped: (parent indent, body indent once known).
    let mut block: Option<(usize, Option<usize>)> = None;
    // Inside a quoted scalar that started in a flow collection.
    let mut quote: Option<u8> = None;
    // The last significant (non-blank) byte seen in flow context, and whether blanks
    // followed it, to tell a quoted scalar's start from a quote inside a plain scalar.
    let mut last: (u8, u8, bool) = (b'[', b' ', false);
    for (ln, line) in text.split('\n').enumerate() {
        let b = line.as_bytes();
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        let blank = b[indent..].iter().all(|c| c.is_ascii_whitespace());
        if let Some((parent, body)) = block {
            if blank {
                continue;
            }
            match body {
                None if indent > parent => {
                    block = Some((parent, Some(indent)));
                    continue;
                }
                Some(bi) if indent >= bi => continue,
                _ => block = None,
            }
        }
        let mut i = 0;
        if depth == 0 && quote.is_none() {
            match block_value(b, indent) {
                Value::Flow(p) => {
                    i = p;
                    last = (b'[', b' ', false);
                }
                Value::BlockScalar(parent) => {
                    block = Some((parent, None));
                    continue;
                }
                Value::Other => continue,
            }
        }
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                match (q, c) {
                    (b'\'', b'\'') if b.get(i + 1) == Some(&b'\'') => i += 1,
                    (b'"', b'\\') => i += 1,
                    (q, c) if q == c => {
                        quote = None;
                        last = (c, last.0, false);
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            match c {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return Some((ln + 1, i + 1));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'\'' | b'"' if quote_starts(last) => quote = Some(c),
                _ => {}
            }
            if c.is_ascii_whitespace() {
                last.2 = true;
            } else {
                last = (c, last.0, false);
            }
            i += 1;
        }
        last.2 = true;
    }
    None
}

/// A quote opens a quoted scalar after `[`, `{` or `,`, or after `: ` (or `":` / `':`
/// in JSON style); elsewhere it is part of a plain scalar.
fn quote_starts((prev, before, blank_after): (u8, u8, bool)) -> bool {
    match prev {
        b'[' | b'{' | b',' => true,
        b':' => blank_after || before == b'"' || before == b'\'',
        _ => false,
    }
}

enum Value {
    /// A flow collection starts at this byte.
    Flow(usize),
    /// A block scalar header; its body must be indented more than this.
    BlockScalar(usize),
    Other,
}

/// Where the value on a block-context line starts, after `- `, `? `, `: ` and a key.
fn block_value(b: &[u8], indent: usize) -> Value {
    let mut p = indent;
    let mut parent = indent;
    let blank = |c: u8| c == b' ' || c == b'\t' || c == b'\r';
    let at_end_or_blank = |p: usize| p >= b.len() || blank(b[p]);
    let skip = |mut p: usize| {
        while p < b.len() && blank(b[p]) {
            p += 1;
        }
        p
    };
    // Sequence entries and explicit keys/values.
    loop {
        p = skip(p);
        match b.get(p) {
            Some(b'-' | b'?' | b':') if at_end_or_blank(p + 1) => {
                parent = p;
                p += 1;
            }
            _ => break,
        }
    }
    let key_col = p;
    // A key: quoted, or plain up to the first `: `.
    let mut q = p;
    match b.get(p) {
        Some(&c @ (b'"' | b'\'')) => {
            q = p + 1;
            while q < b.len() && b[q] != c {
                if c == b'"' && b[q] == b'\\' {
                    q += 1;
                }
                q += 1;
            }
            q = skip(q + 1);
            if b.get(q) == Some(&b':') && at_end_or_blank(q + 1) {
                p = q + 1;
                parent = key_col;
            }
        }
        Some(b'[' | b'{') => return Value::Flow(p),
        Some(b'#') | None => return Value::Other,
        _ => {
            while q < b.len() {
                if b[q] == b':' && at_end_or_blank(q + 1) {
                    p = q + 1;
                    parent = key_col;
                    break;
                }
                if b[q] == b'#' && q > 0 && blank(b[q - 1]) {
                    break;
                }
                q += 1;
            }
        }
    }
    // Anchors and tags before the value.
    loop {
        p = skip(p);
        match b.get(p) {
            Some(b'&' | b'!') => {
                while p < b.len() && !blank(b[p]) {
                    p += 1;
                }
            }
            _ => break,
        }
    }
    match b.get(p) {
        Some(b'[' | b'{') => Value::Flow(p),
        Some(b'|' | b'>') => {
            let mut e = p + 1;
            while e < b.len() && matches!(b[e], b'+' | b'-' | b'0'..=b'9') {
                e += 1;
            }
            e = skip(e);
            if e >= b.len() || b[e] == b'#' {
                Value::BlockScalar(parent)
            } else {
                Value::Other
            }
        }
        _ => Value::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(s: &str) -> bool {
        flow_too_deep(s, 3).is_some()
    }

    #[test]
    fn counts_flow_nesting() {
        assert!(!deep("a: [[[1]]]\n"));
        assert!(deep("a: [[[[1]]]]\n"));
        assert_eq!(
            flow_too_deep("x: 1\nb:\n  - {a: [[[1]]]}\n", 3),
            Some((3, 11))
        );
        assert!(deep("a: [\n[\n[\n[\n"));
        assert!(deep("? [[[[\n"));
        assert!(deep("\"k\": &x !t [[[[\n"));
        assert!(deep("- - k: [[[[\n"));
        assert!(deep("[[[[\n"));
        assert!(
            deep("a: {b: 'x', c: [a '[[[[\n"),
            "quote inside a plain scalar"
        );
        assert!(deep("a: {b:'[[[[\n"), "`:'` without a blank is plain");
        assert!(deep("a: |\n  x\nb: [[[[\n"), "the body ends at b");
        assert!(
            deep("- a: |\n    x\n  b: [[[[\n"),
            "parent indent is the key's"
        );
    }

    #[test]
    fn ignores_text() {
        assert!(!deep("a: x[[[[[\n"), "plain scalar");
        assert!(!deep("a: \"[[[[[\"\n"));
        assert!(!deep("# [[[[[\n"));
        assert!(!deep("a: |\n  [[[[[\n  [[[[\nb: 1\n"), "block scalar body");
        assert!(!deep("- >-\n  [[[[[\n\n  [[[[\n"));
        assert!(!deep("a: ['[[[[[', \"[[[[\", {\"k\":\"[[[[\"}]\n"));
        assert!(!deep("a: [1, 'it''s [[[[ ok']\n"));
        assert!(!deep("a: [1]\n".repeat(100).as_str()));
    }
}
