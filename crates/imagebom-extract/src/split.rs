//! Splitting a manifest stream into documents the way Helm does.

/// One document of a manifest stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'a> {
    /// The template named by the last `# Source: <template>` comment at or before the top of
    /// the document. Helm writes one per template, and a template may emit several
    /// documents, so the comment applies until the next one (even when it sits in an
    /// otherwise empty document).
    pub source: Option<String>,
    /// The document text (a slice of the stream; it may begin with the rest of a `---` line).
    pub text: &'a str,
    /// 1-based line in the stream where `text` begins.
    pub first_line: usize,
    /// 1-based column in the stream where `text` begins (not 1 when the document starts on
    /// its `---` line, as in `---#comment`).
    pub first_column: usize,
}

/// Splits a YAML stream into its non-empty documents.
///
/// A line starting with `---` separates documents even when it does not end there
/// (`---#comment`, `--- # x`): whatever follows the dashes (and blanks) starts the next
/// document, as in Helm. A line holding only `...` ends a document too. Documents made of
/// blank and comment lines only are dropped (their `# Source:` still applies to the next
/// ones). A leading byte-order mark is ignored.
pub fn split_stream(text: &str) -> Vec<Document<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut source = None;
    let (mut start, mut start_line, mut start_col) = (0usize, 1usize, 1usize);
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let is_end = line.trim_end() == "...";
        if line.starts_with("---") || is_end {
            push(
                &mut docs,
                &mut source,
                &text[start..offset],
                start_line,
                start_col,
            );
            let rest = if is_end { "" } else { &line[3..] };
            let content = rest.trim_start_matches([' ', '\t']);
            if content.trim().is_empty() {
                start = offset + line.len();
                start_line = line_no + 1;
                start_col = 1;
            } else {
                let skip = 3 + (rest.len() - content.len());
                start = offset + skip;
                start_line = line_no;
                start_col = skip + 1;
            }
        }
        offset += line.len();
    }
    push(
        &mut docs,
        &mut source,
        &text[start.min(text.len())..],
        start_line,
        start_col,
    );
    docs
}

fn push<'a>(
    docs: &mut Vec<Document<'a>>,
    current: &mut Option<String>,
    text: &'a str,
    first_line: usize,
    first_column: usize,
) {
    let mut has_content = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        match t.strip_prefix('#') {
            Some(comment) => {
                if let Some(s) = comment.trim_start().strip_prefix("Source:") {
                    let s = s.trim();
                    if is_template_name(s) {
                        *current = Some(s.to_string());
                    }
                }
            }
            None => {
                has_content = true;
                break;
            }
        }
    }
    if has_content {
        docs.push(Document {
            source: current.clone(),
            text,
            first_line,
            first_column,
        });
    }
}

/// A Helm template name (`chart/templates/x.yaml`, `chart/charts/sub/templates/x.yaml`): a
/// relative path with a `/` and no blanks. A URL or prose (`# Source: https://…`, a
/// manifest's note on where it was copied from) is not one.
pub(crate) fn is_template_name(s: &str) -> bool {
    s.contains('/')
        && !s.starts_with('/')
        && !s.contains("://")
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_separators() {
        let s = "---\n# Source: c/templates/a.yaml\na: 1\n---# comment\nb: 2\n--- # x\n# Source: c/b.yaml\nc: 3\n---\n# only a comment\n---\n\n";
        let d = split_stream(s);
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(d[0].source.as_deref(), Some("c/templates/a.yaml"));
        assert_eq!(d[0].first_line, 2);
        assert_eq!(d[1].source.as_deref(), Some("c/templates/a.yaml"));
        assert_eq!(d[1].text, "# comment\nb: 2\n");
        assert_eq!((d[1].first_line, d[1].first_column), (4, 4));
        assert_eq!(d[2].source.as_deref(), Some("c/b.yaml"));
        assert_eq!(d[2].text, "# x\n# Source: c/b.yaml\nc: 3\n");
        assert_eq!((d[2].first_line, d[2].first_column), (6, 5));
    }

    #[test]
    fn source_urls_are_not_templates() {
        let d = split_stream("# Source: https://example.com/a.yaml\na: 1\n---\n# Source: c/templates/b.yaml\nb: 2\n---\n# Source: copied from upstream\nc: 3\n");
        assert_eq!(d[0].source, None);
        assert_eq!(d[1].source.as_deref(), Some("c/templates/b.yaml"));
        assert_eq!(d[2].source.as_deref(), Some("c/templates/b.yaml"));
    }

    #[test]
    fn no_separator_crlf_and_end_marker() {
        let d = split_stream("\u{feff}a: 1\r\n...\r\nb: 2\r\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].text, "a: 1\r\n");
        assert_eq!(d[1].first_line, 3);
        assert_eq!(d[0].source, None);
        assert!(split_stream("").is_empty());
        let d = split_stream("---\n# Source: t/a.yaml\n---\nkind: A\n---\nkind: B\n");
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.source.as_deref() == Some("t/a.yaml")));
        assert!(split_stream("---\n---\n# c\n").is_empty());
        assert_eq!(split_stream("---").len(), 0);
    }
}
