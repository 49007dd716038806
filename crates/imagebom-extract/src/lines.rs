//! Lines of image references: a second, marked parse of the documents that have findings.
//!
//! `serde_yaml_ng` gives a [`Value`](serde_yaml_ng::Value) without positions, so a document
//! with at least one occurrence is parsed once more, lazily, by `yaml-rust2`'s event parser
//! (which has marks) into a small tree of nodes with their lines, and each occurrence's path
//! is looked up in it. Aliases are not expanded: an alias node points at its anchor's node,
//! so a path through `*a` ends at the line where the anchored text is written. The tree is
//! bounded by [`Limits::max_nodes`] (a document that parsed already has fewer nodes); a
//! document this parser rejects, or a path it cannot follow, has no line.
//!
//! For a chart's stream, `HelmFiles` maps a stream line to the line of the file
//! `helm template --output-dir` writes for the template (see its documentation).

use crate::Limits;
use std::cell::OnceCell;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// The keys a triplet or image map is composed from.
const TRIPLET_KEYS: [&str; 8] = [
    "registry",
    "repository",
    "image",
    "name",
    "version",
    "tag",
    "digest",
    "containerSHA",
];

enum Kind {
    Scalar,
    Seq(Vec<usize>),
    Map(Vec<(String, usize)>),
    /// An alias: the anchored node.
    Alias(usize),
}

struct Node {
    /// 1-based line in the document text.
    line: usize,
    kind: Kind,
}

/// One document's nodes; `nodes[0]` is the root.
struct Tree {
    nodes: Vec<Node>,
    /// The text of every scalar node (empty for other nodes), for map keys and env names.
    text: Vec<String>,
}

enum Frame {
    Seq(usize),
    Map(usize, Option<String>),
}

impl Tree {
    /// Parses the first document of `text`; `None` when it does not parse or has more than
    /// `max_nodes` nodes.
    fn parse(text: &str, max_nodes: usize) -> Option<Tree> {
        let mut parser = Parser::new_from_str(text);
        let mut tree = Tree {
            nodes: Vec::new(),
            text: Vec::new(),
        };
        let mut anchors: HashMap<usize, usize> = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let (event, mark) = parser.next_token().ok()?;
            let line = mark.line();
            let done = match event {
                Event::StreamEnd | Event::DocumentEnd => return None,
                Event::Nothing | Event::StreamStart | Event::DocumentStart => continue,
                Event::Scalar(value, style, anchor, _) => {
                    let text = if style == TScalarStyle::Plain
                        && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL")
                    {
                        "~".to_string()
                    } else {
                        value
                    };
                    Some(tree.push(line, Kind::Scalar, text, anchor, &mut anchors, max_nodes)?)
                }
                Event::Alias(id) => {
                    let target = *anchors.get(&id)?;
                    Some(tree.push(
                        line,
                        Kind::Alias(target),
                        String::new(),
                        0,
                        &mut anchors,
                        max_nodes,
                    )?)
                }
                Event::SequenceStart(anchor, _) => {
                    let i = tree.push(
                        line,
                        Kind::Seq(Vec::new()),
                        String::new(),
                        anchor,
                        &mut anchors,
                        max_nodes,
                    )?;
                    stack.push(Frame::Seq(i));
                    None
                }
                Event::MappingStart(anchor, _) => {
                    let i = tree.push(
                        line,
                        Kind::Map(Vec::new()),
                        String::new(),
                        anchor,
                        &mut anchors,
                        max_nodes,
                    )?;
                    stack.push(Frame::Map(i, None));
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop()? {
                    Frame::Seq(i) | Frame::Map(i, _) => Some(i),
                },
            };
            let Some(node) = done else { continue };
            match stack.last_mut() {
                None => return Some(tree),
                Some(Frame::Seq(p)) => {
                    if let Kind::Seq(items) = &mut tree.nodes[*p].kind {
                        items.push(node);
                    }
                }
                Some(Frame::Map(p, key)) => match key.take() {
                    None => {
                        let k = match tree.nodes[node].kind {
                            Kind::Scalar => tree.text[node].clone(),
                            Kind::Alias(t) if matches!(tree.nodes[t].kind, Kind::Scalar) => {
                                tree.text[t].clone()
                            }
                            _ => "?".to_string(),
                        };
                        *key = Some(k);
                    }
                    Some(k) => {
                        if let Kind::Map(entries) = &mut tree.nodes[*p].kind {
                            entries.push((k, node));
                        }
                    }
                },
            }
        }
    }

    fn push(
        &mut self,
        line: usize,
        kind: Kind,
        text: String,
        anchor: usize,
        anchors: &mut HashMap<usize, usize>,
        max_nodes: usize,
    ) -> Option<usize> {
        if self.nodes.len() >= max_nodes {
            return None;
        }
        let i = self.nodes.len();
        self.nodes.push(Node { line, kind });
        self.text.push(text);
        if anchor != 0 {
            anchors.insert(anchor, i);
        }
        Some(i)
    }

    /// The node an alias points at (anchors precede their aliases, so one step is enough).
    fn deref(&self, i: usize) -> usize {
        match self.nodes[i].kind {
            Kind::Alias(t) => t,
            _ => i,
        }
    }

    /// The line (in the document) of the node at a walk path: mapping keys, sequence indexes,
    /// and in an `env` list the variable's `name` (its index when it has none), where the
    /// line is that of the entry's `value`; for a mapping (a triplet or image map), the line
    /// of the first of its parts (`repository`, `image`, `version`, …).
    fn line(&self, path: &[&str]) -> Option<usize> {
        let mut at = self.deref(0);
        let mut env_entry = false;
        for (i, seg) in path.iter().enumerate() {
            env_entry = false;
            at = match &self.nodes[at].kind {
                Kind::Map(entries) => entries.iter().rev().find(|(k, _)| k == seg)?.1,
                Kind::Seq(items) => {
                    let by_name = (i > 0 && path[i - 1] == "env")
                        .then(|| items.iter().copied().find(|&e| self.named(e, seg)))
                        .flatten();
                    env_entry = i > 0 && path[i - 1] == "env";
                    match by_name {
                        Some(e) => e,
                        None => *items.get(seg.parse::<usize>().ok()?)?,
                    }
                }
                Kind::Scalar | Kind::Alias(_) => return None,
            };
            at = self.deref(at);
        }
        // `…/env/NAME` is the variable's entry; the reference is its `value`.
        if env_entry {
            if let Kind::Map(entries) = &self.nodes[at].kind {
                if let Some((_, v)) = entries.iter().rev().find(|(k, _)| k == "value") {
                    at = self.deref(*v);
                }
            }
        }
        // A triplet or image map: the first of its parts.
        if let Kind::Map(entries) = &self.nodes[at].kind {
            let first = entries
                .iter()
                .filter(|(k, _)| TRIPLET_KEYS.contains(&k.as_str()))
                .map(|(_, v)| self.nodes[self.deref(*v)].line)
                .min();
            if let Some(line) = first {
                return Some(line);
            }
        }
        Some(self.nodes[at].line)
    }

    /// An env entry whose `name` is `name`.
    fn named(&self, entry: usize, name: &str) -> bool {
        let e = self.deref(entry);
        let Kind::Map(entries) = &self.nodes[e].kind else {
            return false;
        };
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == "name")
            .is_some_and(|(_, v)| self.text[self.deref(*v)] == name)
    }
}

/// Looks up lines in one stream document, parsing it on the first look-up.
pub(crate) struct DocLines<'a> {
    text: &'a str,
    /// Stream line of the document's first line.
    first_line: usize,
    max_nodes: usize,
    tree: OnceCell<Option<Tree>>,
    /// For a template's document: the chart's stream and its files, read on first use.
    files: Option<(&'a str, &'a OnceCell<HelmFiles>)>,
}

impl<'a> DocLines<'a> {
    pub(crate) fn new(
        text: &'a str,
        first_line: usize,
        limits: &Limits,
        files: Option<(&'a str, &'a OnceCell<HelmFiles>)>,
    ) -> Self {
        DocLines {
            text,
            first_line,
            max_nodes: limits.max_nodes,
            tree: OnceCell::new(),
            files,
        }
    }

    /// The 1-based line, in the file the evidence names, of the node at `path`. `scalar` is
    /// the node's text when it is a plain string: written once in the document, as a whole
    /// word, its line is found without parsing (the common case, kept cheap).
    pub(crate) fn line(&self, path: &[&str], scalar: Option<&str>) -> Option<u32> {
        let in_doc = match scalar.and_then(|s| unique_line(self.text, s)) {
            Some(l) => l,
            None => self
                .tree
                .get_or_init(|| Tree::parse(self.text, self.max_nodes))
                .as_ref()?
                .line(path)?,
        };
        let stream_line = self.first_line + in_doc - 1;
        let line = match self.files {
            Some((stream, f)) => f
                .get_or_init(|| HelmFiles::new(stream))
                .file_line(stream_line)?,
            None => stream_line,
        };
        u32::try_from(line).ok()
    }
}

/// The 1-based line of `needle` in `text` when it occurs there exactly once as a whole word
/// (not inside a longer reference: `nginx:1` in `nginx:1.27` does not count).
fn unique_line(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() || needle.contains('\n') {
        return None;
    }
    let word =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || "._/:@-".contains(c));
    let mut found = None;
    for (i, _) in text.match_indices(needle) {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        if word(before) || word(after) {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(i);
    }
    found.map(|i| 1 + text.as_bytes()[..i].iter().filter(|&&b| b == b'\n').count())
}

/// Where each document of a chart's stream lands in the files `helm template --output-dir`
/// writes: one file per template, holding each of its documents as `---`, `# Source:
/// <template>`, the document (blank lines around it trimmed), in Helm's install order (by
/// kind, stable: `ServiceAccount` before `Deployment`, unknown kinds last and alphabetically)
/// with hooks (`helm.sh/hook`) after the others. The template's last document keeps the one
/// newline a template's text ends with, so a blank line follows it (the stream has trimmed
/// it: a template ending otherwise shifts the documents Helm writes after that one).
#[derive(Debug, Default)]
pub(crate) struct HelmFiles {
    /// Per document, in stream order: (stream line of its first content line, file line of
    /// it, stream line of its last content line).
    docs: Vec<(usize, usize, usize)>,
}

/// Helm's install order (`releaseutil.InstallOrder`).
const INSTALL_ORDER: [&str; 40] = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    // Padding so the array length is fixed; never a kind.
    "",
    "",
];

struct HelmDoc {
    template: usize,
    first: usize,
    last: usize,
    kind: String,
    hook: bool,
}

impl HelmFiles {
    /// Reads the documents of a chart's stream as Helm splits them (comment-only documents
    /// count; blank ones do not).
    pub(crate) fn new(stream: &str) -> HelmFiles {
        let stream = stream.strip_prefix('\u{feff}').unwrap_or(stream);
        let lines: Vec<&str> = stream.lines().collect();
        let mut templates: Vec<String> = Vec::new();
        let mut current: Option<usize> = None;
        let mut docs: Vec<HelmDoc> = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            // A chunk: from a `---` line (or the stream's start) to the next one.
            let start = if lines[i].starts_with("---") {
                i + 1
            } else {
                i
            };
            let mut end = start;
            while end < lines.len() && !lines[end].starts_with("---") {
                end += 1;
            }
            let mut body = start;
            while body < end && lines[body].trim().is_empty() {
                body += 1;
            }
            if let Some(t) = lines
                .get(body)
                .filter(|_| body < end)
                .and_then(|l| l.trim().strip_prefix("# Source: "))
                .map(str::trim)
                .filter(|t| crate::split::is_template_name(t))
            {
                current = Some(match templates.iter().position(|x| x == t) {
                    Some(p) => p,
                    None => {
                        templates.push(t.to_string());
                        templates.len() - 1
                    }
                });
                body += 1;
            }
            let mut last = end;
            while last > body && lines[last - 1].trim().is_empty() {
                last -= 1;
            }
            while body < last && lines[body].trim().is_empty() {
                body += 1;
            }
            if let (Some(template), true) = (current, body < last) {
                let text = &lines[body..last];
                docs.push(HelmDoc {
                    template,
                    first: body + 1,
                    last,
                    kind: top_level(text, "kind:").unwrap_or_default(),
                    hook: text.iter().any(|l| is_hook_annotation(l)),
                });
            }
            i = end.max(i + 1);
        }
        let mut out = HelmFiles {
            docs: vec![(0, 0, 0); docs.len()],
        };
        let mut by_template: Vec<Vec<usize>> = vec![Vec::new(); templates.len()];
        for (d, doc) in docs.iter().enumerate() {
            by_template[doc.template].push(d);
        }
        for mut mine in by_template {
            let Some(&last_doc) = mine.last() else {
                continue;
            };
            mine.sort_by(|&a, &b| {
                let (a, b) = (&docs[a], &docs[b]);
                a.hook
                    .cmp(&b.hook)
                    .then_with(|| kind_order(&a.kind, &b.kind))
            });
            let mut written = 0;
            for d in mine {
                let doc = &docs[d];
                out.docs[d] = (doc.first, written + 3, doc.last);
                written += 2 + (doc.last + 1 - doc.first) + usize::from(d == last_doc);
            }
        }
        out
    }

    /// The file line of stream line `line`, when it is inside a template's document.
    fn file_line(&self, line: usize) -> Option<usize> {
        let i = self.docs.partition_point(|d| d.0 <= line).checked_sub(1)?;
        let (first, file_first, last) = self.docs[i];
        (file_first > 0 && line <= last).then(|| file_first + line - first)
    }
}

/// Helm's `lessByKind`: known kinds in install order, then unknown kinds alphabetically.
fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k && !k.is_empty());
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The value of a top-level `key:` line (quotes and a trailing comment dropped).
fn top_level(lines: &[&str], key: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        let v = l.strip_prefix(key)?.trim();
        let v = v.split(" #").next().unwrap_or(v).trim();
        Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// An indented `helm.sh/hook:` annotation line (quoted or not).
fn is_hook_annotation(l: &str) -> bool {
    let t = l.trim_start();
    t.len() < l.len()
        && t.trim_start_matches(['"', '\''])
            .strip_prefix("helm.sh/hook")
            .is_some_and(|r| {
                r.trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with(':')
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, path: &str) -> Option<usize> {
        let segs: Vec<&str> = path.split('/').collect();
        Tree::parse(text, 1000)?.line(&segs)
    }

    #[test]
    fn block_flow_env_and_aliases() {
        let text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: x:1\n    env:\n    - name: IMG\n      value: y:2\n    - {name: OTHER, value: 'z:3'}\n  - {name: b, image: \"w:4\"}\n  initContainers: &c\n  - name: c\n    image: v:5\n  ephemeralContainers: *c\n";
        assert_eq!(line(text, "spec/containers/0/image"), Some(5));
        assert_eq!(line(text, "spec/containers/0/env/IMG"), Some(8));
        assert_eq!(line(text, "spec/containers/0/env/1"), Some(9));
        assert_eq!(line(text, "spec/containers/0/env/OTHER"), Some(9));
        assert_eq!(line(text, "spec/containers/1/image"), Some(10));
        assert_eq!(line(text, "spec/ephemeralContainers/0/image"), Some(13));
        assert_eq!(line(text, "spec/containers/7/image"), None);
        assert_eq!(line(text, "spec/nope"), None);
    }

    #[test]
    fn unique_words_are_found_without_parsing() {
        let text = "a: nginx:1.27\nb: nginx:1\nc: [\"x:1\", x:1]\n";
        assert_eq!(unique_line(text, "nginx:1"), Some(2));
        assert_eq!(unique_line(text, "nginx:1.27"), Some(1));
        assert_eq!(unique_line(text, "x:1"), None);
        assert_eq!(unique_line(text, "nope"), None);
    }

    #[test]
    fn node_budget_and_bad_yaml() {
        assert!(Tree::parse("a: [1, 2, 3]\n", 3).is_none());
        assert!(Tree::parse("a: [1, 2\n", 100).is_none());
        assert!(Tree::parse("a: *missing\n", 100).is_none());
    }

    #[test]
    fn helm_files_sort_by_kind_and_hooks_last() {
        let s = "---\n# Source: c/templates/a.yaml\nkind: Deployment\nimage: d\n---\n\nkind: ServiceAccount\n---\nkind: Job\nmetadata:\n  annotations:\n    \"helm.sh/hook\": pre-install\n---\n# only a comment\n---\nkind: Pod\n---\n# Source: c/templates/b.yaml\nkind: Pod\n";
        let f = HelmFiles::new(s);
        // File a.yaml: ServiceAccount (3), Pod (6, then a blank line), Deployment (10-11),
        // the comment (14), the hook Job (17-20).
        assert_eq!(f.file_line(7), Some(3));
        assert_eq!(f.file_line(16), Some(6));
        assert_eq!(f.file_line(3), Some(10));
        assert_eq!(f.file_line(4), Some(11));
        assert_eq!(f.file_line(9), Some(17));
        assert_eq!(f.file_line(12), Some(20));
        assert_eq!(f.file_line(19), Some(3));
        assert_eq!(f.file_line(2), None);
    }
}
