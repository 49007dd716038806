//! Kyaml's folding of long scalars: its emitter (go-yaml v3's, 80 columns) breaks a plain or
//! single-quoted scalar at a space once the line is past column 80, continuing two columns
//! deeper than the key (or `-`) that holds it; `serde_yaml_ng` never folds. [`fold`] rewrites
//! one emitted line the way kyaml would have written it.

/// Kyaml's line width (go-yaml's `best_width`).
const WIDTH: usize = 80;

/// `line` (one line of `serde_yaml_ng` output, outside block scalars) folded as kyaml folds
/// it; unchanged when it is short or holds no plain or single-quoted scalar value.
pub(crate) fn fold(line: &str) -> String {
    // A space past the width with a non-space after it: only lines of 83+ characters.
    if line.len() <= WIDTH + 2 {
        return line.to_string();
    }
    let Some((value_at, cont)) = value_start(line) else {
        return line.to_string();
    };
    let (prefix, value) = line.split_at(value_at);
    match value.as_bytes().first() {
        Some(b'\'') => fold_single(prefix, &value[1..], cont),
        Some(b'"') => fold_double(prefix, &value[1..], cont),
        Some(b'|' | b'>' | b'[' | b'{' | b'&' | b'*' | b'!') | None => line.to_string(),
        Some(_) => fold_plain(prefix, value, cont),
    }
}

/// Where the scalar value of `line` starts (byte offset) and the indent of its continuation
/// lines: the column of its key, or of its `-`, plus two.
fn value_start(line: &str) -> Option<(usize, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut at = indent;
    let mut owner = indent;
    // Sequence item indicators: `- `, `- - `.
    while line[at..].starts_with("- ") {
        owner = at;
        at += 2;
    }
    let rest = &line[at..];
    if rest.starts_with("? ") {
        // A complex key (over 128 bytes): folded as a value, two deeper than its `?`.
        return Some((at + 2, at + 2));
    }
    if let Some(key_len) = key_length(rest) {
        let after = &rest[key_len..];
        let value = after.strip_prefix(": ")?;
        let value_at = line.len() - value.len();
        return Some((value_at, at + 2));
    }
    if at == indent {
        // Neither a key nor a sequence item: a continuation or something else.
        return None;
    }
    Some((at, owner + 2))
}

/// The length of the mapping key at the start of `s` (plain or quoted), if `s` is `key: …`.
fn key_length(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let end = match bytes.first()? {
        b'\'' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    _ => i += 1,
                }
            }
        }
        // A plain key: up to the first `: ` (a plain value cannot hold one).
        _ => return s.find(": "),
    };
    s[end..].starts_with(": ").then_some(end)
}

/// go-yaml's `write_plain_scalar` with breaks allowed.
fn fold_plain(prefix: &str, value: &str, cont: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + value.len() + 16);
    out.push_str(prefix);
    let mut column = prefix.chars().count();
    let chars: Vec<char> = value.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_space = chars.get(i + 1) == Some(&' ');
            if !spaces && column > WIDTH && !next_space {
                break_line(&mut out, &mut column, cont);
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out
}

/// go-yaml's `write_single_quoted` with breaks allowed; `quoted` is the text after the
/// opening quote (content with `''` escapes, then the closing quote).
fn fold_single(prefix: &str, quoted: &str, cont: usize) -> String {
    let Some(content) = quoted.strip_suffix('\'') else {
        return format!("{prefix}'{quoted}");
    };
    let mut out = String::with_capacity(prefix.len() + quoted.len() + 16);
    out.push_str(prefix);
    out.push('\'');
    let mut column = prefix.chars().count() + 1;
    let chars: Vec<char> = content.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_space = chars.get(i + 1) == Some(&' ');
            let inner = i > 0 && i + 1 < chars.len();
            if !spaces && column > WIDTH && inner && !next_space {
                break_line(&mut out, &mut column, cont);
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out.push('\'');
    out
}

/// go-yaml's `write_double_quoted` with breaks allowed; `quoted` is the text after the
/// opening quote (escaped content, then the closing quote). An escape counts as the
/// characters it is written with; a break before a second space leaves a `\` so that the
/// space survives the folding.
fn fold_double(prefix: &str, quoted: &str, cont: usize) -> String {
    let Some(content) = quoted.strip_suffix('"') else {
        return format!("{prefix}\"{quoted}");
    };
    // The content as tokens: an escape sequence or one character.
    let chars: Vec<char> = content.chars().collect();
    let mut tokens: Vec<&[char]> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let len = if chars[i] == '\\' {
            match chars.get(i + 1) {
                Some('x') => 4,
                Some('u') => 6,
                Some('U') => 10,
                _ => 2,
            }
        } else {
            1
        };
        let end = (i + len).min(chars.len());
        tokens.push(&chars[i..end]);
        i = end;
    }
    let mut out = String::with_capacity(prefix.len() + quoted.len() + 16);
    out.push_str(prefix);
    out.push('"');
    let mut column = prefix.chars().count() + 1;
    let mut spaces = false;
    for (i, t) in tokens.iter().enumerate() {
        if t == &[' '] {
            let inner = i > 0 && i + 1 < tokens.len();
            if !spaces && column > WIDTH && inner {
                break_line(&mut out, &mut column, cont);
                if tokens.get(i + 1) == Some(&&[' '][..]) {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(' ');
                column += 1;
            }
            spaces = true;
        } else {
            out.extend(t.iter());
            column += t.len();
            spaces = false;
        }
    }
    out.push('"');
    out
}

fn break_line(out: &mut String, column: &mut usize, indent: usize) {
    out.push('\n');
    out.push_str(&" ".repeat(indent));
    *column = indent;
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn a_long_plain_value_breaks_past_column_80_two_deeper_than_its_key() {
        // From the shared case capi-docker-default (kubectl kustomize's output).
        let line = "                  description: Condition contains details for one aspect of the current state of this API Resource.";
        assert_eq!(
            fold(line),
            "                  description: Condition contains details for one aspect of the current\n                    state of this API Resource."
        );
    }

    #[test]
    fn a_long_single_quoted_value_breaks_too() {
        // From the shared case kueue-e2e-default.
        let line = "                  rule: '!(self.reclaimWithinCohort == ''Never'' && has(self.borrowWithinCohort) &&  self.borrowWithinCohort.policy != ''Never'')'";
        assert_eq!(
            fold(line),
            "                  rule: '!(self.reclaimWithinCohort == ''Never'' && has(self.borrowWithinCohort)\n                    &&  self.borrowWithinCohort.policy != ''Never'')'"
        );
    }

    #[test]
    fn sequence_items_continue_two_deeper_than_the_dash() {
        let words = "word ".repeat(20);
        let line = format!("  - {}", words.trim_end());
        let folded = fold(&line);
        let lines: Vec<&str> = folded.lines().collect();
        assert_eq!(lines.len(), 2, "{folded}");
        assert!(lines[1].starts_with("    word"), "{folded}");
        let line = format!("  - name: {}", words.trim_end());
        let folded = fold(&line);
        assert!(
            folded.lines().nth(1).unwrap().starts_with("      word"),
            "{folded}"
        );
    }

    #[test]
    fn a_complex_key_folds_two_deeper_than_its_question_mark() {
        // From tests/cases/printer-keys (kubectl kustomize's output).
        let key = format!("{} with spaces {}", "f".repeat(100), "g".repeat(30));
        assert_eq!(
            fold(&format!("  ? {key}")),
            format!(
                "  ? {}\n    with spaces {}",
                "f".repeat(100),
                "g".repeat(30)
            )
        );
        let m = "m".repeat(90);
        assert_eq!(
            fold(&format!("  - ? '{m} {m} '")),
            format!("  - ? '{m}\n      {m} '")
        );
    }

    #[test]
    fn short_lines_block_scalars_and_unbreakable_values_stay() {
        assert_eq!(fold("  a: b c"), "  a: b c");
        let long = format!("  image: {}", "x".repeat(100));
        assert_eq!(fold(&long), long);
        let block = format!("  {}: |-", "k".repeat(100));
        assert_eq!(fold(&block), block);
    }

    #[test]
    fn a_long_double_quoted_value_breaks_and_keeps_its_spaces() {
        // From the shared case online-boutique-istio-all-components (kubectl kustomize's).
        let line = r#"  collector-gateway-config-template.yaml: "receivers:\n  otlp:\n    protocols: \n      grpc:\nprocessors:\nexporters:\n  googlecloud:\n    project: {{PROJECT_ID}}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp] # Receive otlp-formatted data from other collector instances\n      processors: []\n      exporters: [googlecloud] # Export traces directly to Google Cloud\n    metrics:\n      receivers: [otlp]\n      processors: []\n      exporters: [googlecloud] # Export metrics to Google Cloud""#;
        let want = r#"  collector-gateway-config-template.yaml: "receivers:\n  otlp:\n    protocols: \n
    \     grpc:\nprocessors:\nexporters:\n  googlecloud:\n    project: {{PROJECT_ID}}\nservice:\n
    \ pipelines:\n    traces:\n      receivers: [otlp] # Receive otlp-formatted data
    from other collector instances\n      processors: []\n      exporters: [googlecloud]
    # Export traces directly to Google Cloud\n    metrics:\n      receivers: [otlp]\n
    \     processors: []\n      exporters: [googlecloud] # Export metrics to Google
    Cloud""#;
        assert_eq!(fold(line), want);
    }
}
