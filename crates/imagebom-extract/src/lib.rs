//! Extraction stage of imagebom: find every image reference in manifest streams.
//!
//! [`extract`] takes the text of a rendered manifest stream (`helm template` output or a
//! plain manifest file) and returns every image reference with its evidence
//! ([`Occurrence`]) plus [`Warning`]s for values that look like images but are not.
//!
//! # Rules
//!
//! - **Stream.** Documents are split as Helm does ([`split_stream`]): a line starting with
//!   `---` is a separator even when something follows (`---#comment`). The last
//!   `# Source: <template>` comment at or above a document is its `source` (a Helm
//!   template may emit several documents) when it names a template (a relative path with a
//!   `/` and no blanks; a URL is not one); without one, and always with
//!   [`extract_manifest`] (plain manifest files), [`Origin::file`] is. Empty and
//!   comment-only documents are skipped. Each document is parsed into a
//!   `serde_yaml_ng::Value` under [`Limits`]: alias expansion ("billion laughs"), nesting
//!   depth, stream, document and embedded sizes, and document count are bounded, and
//!   malformed YAML is an [`ExtractError`] naming the file, line and column in the whole
//!   stream. Flow-collection nesting is checked lexically before parsing (libyaml is slow
//!   on deep `[[[[…`), and the parser buffers a whole document, hence
//!   [`Limits::max_document_bytes`].
//! - **Skipped.** `kind: CustomResourceDefinition` objects, wherever they are (their
//!   schemas have `image` properties that are not images); a stream document whose
//!   top-level `kind:` and `apiVersion: apiextensions.k8s.io/…` lines say so is not even
//!   parsed. `kind: List` (any `*List` with `items`) is split into its items, each with
//!   its own kind, name and item-relative paths.
//! - **Pod** ([`Category::Pod`](imagebom_model::Category::Pod)): the `image` of every
//!   entry of a list under `containers`, `initContainers` or `ephemeralContainers` whose
//!   items are mappings with a `name` or `image`, wherever it is (Deployment, CronJob
//!   `jobTemplate`, Pod, an OLM CSV, any custom resource embedding a pod template). A value
//!   that does not parse gives a warning with the grammar error.
//! - **Env / Arg**: in those containers, an `env[].value` (path ends in the variable name:
//!   `…/env/DRIVER_MANAGER_IMAGE`) or an `args`/`command` item, bare or as `--flag=value`
//!   (path by index: `…/args/3`), that is meant as an image: it parses and has a digest;
//!   or a tag and a `/`; or, without `/`, a tag with a digit that is not all digits (a
//!   port) or `latest`. A value without tag or digest names a repository, not an image
//!   (`MS_REPOSITORY=ghcr.io/kai-scheduler/kai-scheduler`, which the KAI operator
//!   completes): never an image, whatever the variable is called; when the variable or
//!   flag name ends in `image` (`DRIVER_IMAGE`, `--solver-image`) and the value has a
//!   registry, it is a warning. Words, paths, URLs, `host:port`, `namespace/name`,
//!   `k8s.io/ingress-nginx`, numbers and booleans do not count.
//! - **Cr**: elsewhere, a string `image:` field. A bare word (no `/`, tag or digest, such
//!   as `vgpu-manager`) is a warning ("bare word, not an image reference"), never an
//!   image.
//! - **CrTriplet**: a mapping with `repository`, `image` and `version` (or `tag`, `digest`,
//!   `containerSHA`) is composed as `repository/image:version`; a version starting with
//!   `sha256:` gives `repository/image@sha256:…`. Path: the mapping
//!   (`spec/driver/manager`, or `spec` for a triplet directly in the spec). Without
//!   `repository`, an `image` with a `/` and no tag is completed by the version.
//!   `repository` and `image` without any version is an "incomplete" warning. A map-valued
//!   `image: {registry, repository, tag, digest}` is composed as
//!   `registry/repository:tag@digest`, and `image: {repository, name, tag, digest}` as
//!   `repository/name:tag@digest`, as the KAI operator's `Image.Url()` does for its
//!   `Config` CR (path: the `image` map). A map with both `registry` and `name`, or a
//!   `name` without repository or without tag and digest, is a warning: no composition
//!   is guessed.
//! - **CrDisabled**: a triplet, image map or `image:` string whose own mapping says
//!   `enabled: false` (for an image map, also the mapping holding it). Ancestors do not
//!   count: `spec.vgpuManager.driverManager` stays a triplet under a disabled
//!   `vgpuManager`, as the corpus expects.
//! - **Embedded**: a string that holds YAML or JSON (ConfigMap data, the OLM
//!   `alm-examples` annotation) is parsed under the same limits (at most
//!   [`Limits::max_embedded_bytes`], [`Limits::max_embed_depth`] levels of embedding) and
//!   walked by the same rules; every finding becomes
//!   [`Category::Embedded`](imagebom_model::Category::Embedded) with path `outer#inner`
//!   (`metadata/annotations/alm-examples#2/spec`), or `outer#doc<n>/inner` when the string
//!   holds several YAML documents. Strings that do not parse are ignored.
//!
//! Evidence: `component` is [`Origin::component`], `source` the template or file, `kind`
//! and `name` the object's `kind` and `metadata.name`, `path` slash-separated, `original`
//! the text as written (composed for triplets), `line` the 1-based line of the reference's
//! scalar in the file `source` names: with [`extract_manifest`] (and for documents without
//! `# Source:`) the line in the stream; for a template, the line in the file
//! `helm template --output-dir` writes for it (each document under its own `---` and
//! `# Source:` lines, in Helm's kind order, hooks last). An env entry has the line of its
//! `value`, a triplet or image map that of the first of its parts, an embedded finding the
//! line where its string's text starts, and a path through an alias the line of the
//! anchored text. Lines come from a second, marked parse (`yaml-rust2` events) of the
//! documents that have occurrences, bounded like the first; `None` where it fails.

mod lines;
mod looks;
mod parse;
mod prescan;
mod split;
mod walk;

pub use split::{split_stream, Document};

use imagebom_model::{ImageRef, Inventory, Occurrence, Warning};

/// Where a stream came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// Recipe component name (empty for a bare manifest stream).
    pub component: String,
    /// File name used in errors, and as `source` for documents without `# Source:`.
    pub file: String,
}

/// Bounds on the work and memory one stream may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest stream accepted, in bytes; also the most scalar text one document may
    /// expand to (aliases included).
    pub max_bytes: usize,
    /// Largest single document, in bytes. The parser holds every event of a document in
    /// memory (some 70 bytes per input byte at worst); Kubernetes objects are at most about
    /// 1.5 MB. CRDs are skipped before this check.
    pub max_document_bytes: usize,
    /// Most non-empty documents in a stream (and in one embedded string).
    pub max_documents: usize,
    /// Deepest nesting of mappings and sequences in a document.
    pub max_depth: usize,
    /// Most nodes one document may expand to, aliases included.
    pub max_nodes: usize,
    /// Largest string parsed as embedded YAML or JSON; longer ones give a warning.
    pub max_embedded_bytes: usize,
    /// How many levels of YAML-in-a-string are parsed (0 turns embedded scanning off).
    pub max_embed_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_document_bytes: 8 << 20,
            max_documents: 100_000,
            max_depth: 100,
            max_nodes: 500_000,
            max_embedded_bytes: 1 << 20,
            max_embed_depth: 2,
        }
    }
}

impl From<&Limits> for parse::Budget {
    fn from(l: &Limits) -> Self {
        parse::Budget {
            max_nodes: l.max_nodes,
            max_scalar_bytes: l.max_bytes,
            max_depth: l.max_depth,
        }
    }
}

/// What one stream holds: image references with their evidence, and warnings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extraction {
    /// Every occurrence, in stream order.
    pub images: Vec<(ImageRef, Occurrence)>,
    /// Values that are not image references (bare words, unparsable values, …).
    pub warnings: Vec<Warning>,
}

impl Extraction {
    /// Adds every occurrence and warning to `inv` (call [`Inventory::canonicalize`] after
    /// the last stream).
    pub fn into_inventory(self, inv: &mut Inventory) {
        for (r, o) in self.images {
            inv.add(r, o);
        }
        inv.warnings.extend(self.warnings);
    }
}

/// Why a stream could not be read. Lines and columns are 1-based, in the whole stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A document is not valid YAML.
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A document exceeds a limit: alias expansion, nesting depth.
    #[error("{file}:{line}:{column}: {message}")]
    Limit {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The stream is larger than [`Limits::max_bytes`].
    #[error("{file}: {size} bytes is more than the limit of {limit} bytes")]
    TooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    /// The stream has more than [`Limits::max_documents`] documents.
    #[error("{file}:{line}: more than {limit} YAML documents")]
    TooManyDocuments {
        file: String,
        line: usize,
        limit: usize,
    },
}

impl ExtractError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ExtractError::Yaml { file, .. }
            | ExtractError::Limit { file, .. }
            | ExtractError::TooLarge { file, .. }
            | ExtractError::TooManyDocuments { file, .. } => file,
        }
    }

    /// The line in the stream, when the error has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ExtractError::Yaml { line, .. }
            | ExtractError::Limit { line, .. }
            | ExtractError::TooManyDocuments { line, .. } => Some(*line),
            ExtractError::TooLarge { .. } => None,
        }
    }
}

/// Finds every image reference in a manifest stream (see the crate documentation for the
/// rules). Never panics; fails on malformed YAML or when a [`Limits`] bound is exceeded.
pub fn extract(text: &str, origin: &Origin, limits: &Limits) -> Result<Extraction, ExtractError> {
    extract_stream(text, origin, limits, true)
}

/// [`extract`] for a plain manifest file: a `# Source:` comment is an ordinary comment, and
/// every document's `source` is [`Origin::file`].
pub fn extract_manifest(
    text: &str,
    origin: &Origin,
    limits: &Limits,
) -> Result<Extraction, ExtractError> {
    extract_stream(text, origin, limits, false)
}

fn extract_stream(
    text: &str,
    origin: &Origin,
    limits: &Limits,
    templates: bool,
) -> Result<Extraction, ExtractError> {
    if text.len() > limits.max_bytes {
        return Err(ExtractError::TooLarge {
            file: origin.file.clone(),
            size: text.len(),
            limit: limits.max_bytes,
        });
    }
    let docs = split_stream(text);
    if let Some(d) = docs.get(limits.max_documents) {
        return Err(ExtractError::TooManyDocuments {
            file: origin.file.clone(),
            line: d.first_line,
            limit: limits.max_documents,
        });
    }
    let mut out = Extraction::default();
    let helm_files = std::cell::OnceCell::new();
    for doc in &docs {
        if is_crd(doc.text) {
            continue;
        }
        if doc.text.len() > limits.max_document_bytes {
            return Err(ExtractError::Limit {
                file: origin.file.clone(),
                line: doc.first_line,
                column: doc.first_column,
                message: format!(
                    "document of {} bytes is larger than the limit of {} bytes",
                    doc.text.len(),
                    limits.max_document_bytes
                ),
            });
        }
        let value = parse::parse_document(doc.text, limits.into()).map_err(|e| {
            let (line, column) = stream_position(doc, e.line, e.column);
            let message = rebase_positions(&e.message, doc);
            let file = origin.file.clone();
            if e.limit {
                ExtractError::Limit {
                    file,
                    line,
                    column,
                    message,
                }
            } else {
                ExtractError::Yaml {
                    file,
                    line,
                    column,
                    message,
                }
            }
        })?;
        let (source, files) = match &doc.source {
            Some(s) if templates => (s, Some((text, &helm_files))),
            _ => (&origin.file, None),
        };
        let lines = lines::DocLines::new(doc.text, doc.first_line, limits, files);
        walk::document(
            &value,
            &origin.component,
            source,
            limits,
            0,
            Some(&lines),
            &[],
            &mut out,
        );
    }
    Ok(out)
}

/// True for a document whose top-level `kind` is `CustomResourceDefinition` of
/// `apiextensions.k8s.io`: skipped without parsing (CRDs are large and hold no images).
fn is_crd(text: &str) -> bool {
    let top = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.trim();
            let v = v.split(" #").next().unwrap_or(v).trim();
            Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
        })
    };
    top("kind:").as_deref() == Some("CustomResourceDefinition")
        && top("apiVersion:").is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
}

/// Maps a document-relative (1-based) position to the stream.
fn stream_position(doc: &Document, line: Option<usize>, column: Option<usize>) -> (usize, usize) {
    let Some(line) = line.filter(|l| *l >= 1) else {
        return (doc.first_line, doc.first_column);
    };
    let column = column.unwrap_or(1).max(1);
    if line == 1 {
        (doc.first_line, column + doc.first_column - 1)
    } else {
        (doc.first_line + line - 1, column)
    }
}

/// Rewrites `line L column C` inside a parser message to stream positions.
fn rebase_positions(msg: &str, doc: &Document) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 5..];
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let nl = digits(after);
        let tail = &after[nl..];
        let parsed = (nl > 0)
            .then(|| tail.strip_prefix(" column "))
            .flatten()
            .and_then(|t| {
                let nc = digits(t);
                let l = after[..nl].parse::<usize>().ok()?;
                let c = t[..nc].parse::<usize>().ok()?;
                (nc > 0).then_some((l, c, &t[nc..]))
            });
        match parsed {
            Some((l, c, remaining)) => {
                let (l, c) = stream_position(doc, Some(l), Some(c));
                out.push_str(&format!("line {l} column {c}"));
                rest = remaining;
            }
            None => {
                out.push_str("line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
