//! Walking a parsed document and recording every image reference.

use crate::lines::DocLines;
use crate::looks::{arg_value, indirect_image, is_bare_word, may_be_structured, repository_only};
use crate::parse::{parse_document, Budget};
use crate::split::split_stream;
use crate::{Extraction, Limits};
use imagebom_model::{Category, ImageRef, Occurrence, Warning};
use serde_yaml_ng::{Mapping, Value};

/// Evidence shared by every finding of one document.
pub(crate) struct Scope<'a> {
    pub component: &'a str,
    pub source: &'a str,
    pub kind: String,
    pub name: String,
    /// Where lines are looked up, and the path of the object in its document (`items/3`
    /// for an item of a `kind: List`).
    pub lines: Option<&'a DocLines<'a>>,
    pub base: Vec<String>,
}

pub(crate) struct Walker<'a> {
    scope: &'a Scope<'a>,
    limits: &'a Limits,
    /// How many embedded strings deep this walker is (0 for a stream document).
    embed_depth: usize,
    path: Vec<String>,
    pub out: Extraction,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Processes a stream document: skips CRDs, splits `kind: *List` into its items (each with
/// its own kind, name and item-relative paths) and walks everything else.
#[allow(clippy::too_many_arguments)]
pub(crate) fn document(
    value: &Value,
    component: &str,
    source: &str,
    limits: &Limits,
    depth: usize,
    lines: Option<&DocLines>,
    base: &[String],
    out: &mut Extraction,
) {
    let value = untag(value);
    let kind = str_at(value, &["kind"]).unwrap_or_default().to_string();
    if kind == "CustomResourceDefinition" {
        return;
    }
    if kind.ends_with("List") && depth < limits.max_depth {
        if let Some(Value::Sequence(items)) = value.get("items").map(untag) {
            for (i, item) in items.iter().enumerate() {
                let mut base = base.to_vec();
                base.extend(["items".to_string(), i.to_string()]);
                document(
                    item,
                    component,
                    source,
                    limits,
                    depth + 1,
                    lines,
                    &base,
                    out,
                );
            }
            return;
        }
    }
    let name = str_at(value, &["metadata", "name"])
        .or_else(|| str_at(value, &["metadata", "generateName"]))
        .unwrap_or_default()
        .to_string();
    let scope = Scope {
        component,
        source,
        kind,
        name,
        lines,
        base: base.to_vec(),
    };
    let mut w = Walker::new(&scope, limits, 0);
    w.node(value);
    out.images.append(&mut w.out.images);
    out.warnings.append(&mut w.out.warnings);
}

impl<'a> Walker<'a> {
    pub(crate) fn new(scope: &'a Scope<'a>, limits: &'a Limits, embed_depth: usize) -> Self {
        Walker {
            scope,
            limits,
            embed_depth,
            path: Vec::new(),
            out: Extraction::default(),
        }
    }

    fn path(&self) -> String {
        self.path.join("/")
    }

    /// The line of the current path (in a stream document, not inside an embedded string);
    /// `scalar` is the text of the string there, when the path names one.
    fn line(&self, scalar: Option<&str>) -> Option<u32> {
        if self.embed_depth > 0 {
            return None;
        }
        let lines = self.scope.lines?;
        let segs: Vec<&str> = self
            .scope
            .base
            .iter()
            .chain(&self.path)
            .map(String::as_str)
            .collect();
        lines.line(&segs, scalar)
    }

    fn occurrence(&mut self, r: ImageRef, category: Category) {
        let o = Occurrence {
            component: self.scope.component.to_string(),
            source: self.scope.source.to_string(),
            kind: self.scope.kind.clone(),
            name: self.scope.name.clone(),
            path: self.path(),
            line: self.line(match category {
                Category::Pod | Category::Cr | Category::Env | Category::Arg => Some(r.original()),
                _ => None,
            }),
            category,
            original: r.original().to_string(),
            reason: None,
        };
        self.out.images.push((r, o));
    }

    fn warn(&mut self, value: &str, message: impl Into<String>) {
        self.out.warnings.push(Warning {
            component: self.scope.component.to_string(),
            source: self.scope.source.to_string(),
            kind: self.scope.kind.clone(),
            name: self.scope.name.clone(),
            path: self.path(),
            value: value.to_string(),
            message: message.into(),
        });
    }

    fn with<R>(&mut self, seg: impl Into<String>, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(seg.into());
        let r = f(self);
        self.path.pop();
        r
    }

    pub(crate) fn node(&mut self, v: &Value) {
        // Parsing bounds depth already; this guards values built any other way.
        if self.path.len() > self.limits.max_depth {
            return;
        }
        match untag(v) {
            Value::Mapping(m) => self.mapping(m),
            Value::Sequence(s) => {
                for (i, x) in s.iter().enumerate() {
                    self.with(i.to_string(), |w| w.node(x));
                }
            }
            Value::String(s) => self.embedded(s),
            _ => {}
        }
    }

    fn mapping(&mut self, m: &Mapping) {
        if m.get("kind").and_then(scalar).as_deref() == Some("CustomResourceDefinition") {
            return;
        }
        let disabled = is_disabled(m);
        let image_consumed = self.triplet(m, disabled);
        for (k, child) in m {
            let key = key_string(k);
            let child_u = untag(child);
            self.with(key.clone(), |w| match key.as_str() {
                k if CONTAINER_LISTS.contains(&k) && is_container_list(child_u) => {
                    w.containers(child_u)
                }
                "image" if !image_consumed => match child_u {
                    Value::String(s) => w.cr_image(s, disabled),
                    Value::Mapping(im) if im.get("repository").and_then(scalar).is_some() => {
                        w.image_map(im, disabled || is_disabled(im))
                    }
                    other => w.node(other),
                },
                _ => w.node(child_u),
            });
        }
    }

    /// A `repository`/`image`/`version` triplet (or `tag`, `digest`, `containerSHA`
    /// instead of `version`); also `image` (with a `/`, without tag) plus a version when
    /// there is no `repository`. Returns true when the mapping's `image` key was used.
    fn triplet(&mut self, m: &Mapping, disabled: bool) -> bool {
        let Some(image) = m.get("image").and_then(non_empty) else {
            return false;
        };
        let repository = m.get("repository").and_then(non_empty);
        let version = m.get("version").and_then(non_empty);
        let tag_field = m.get("tag").and_then(non_empty);
        let digest_field = m.get("digest").and_then(non_empty);
        let sha = m.get("containerSHA").and_then(non_empty);
        let (mut tag, mut digest) = (tag_field, digest_field);
        if let Some(v) = version {
            if v.starts_with("sha256:") || v.starts_with("sha512:") {
                digest = digest.or(Some(v));
            } else {
                tag = Some(v);
            }
        }
        if let Some(s) = sha {
            digest = digest.or_else(|| {
                Some(if s.contains(':') {
                    s
                } else {
                    format!("sha256:{s}")
                })
            });
        }
        let has_version = tag.is_some() || digest.is_some();
        let category = if disabled {
            Category::CrDisabled
        } else {
            Category::CrTriplet
        };
        match repository {
            Some(repo) => {
                if !has_version {
                    let value = format!("{}/{image}", repo.trim_end_matches('/'));
                    self.warn(
                        &value,
                        "incomplete image triplet: repository and image but no version, tag or digest",
                    );
                    return true;
                }
                match ImageRef::from_parts(Some(&repo), &image, tag.as_deref(), digest.as_deref()) {
                    Ok(r) => self.occurrence(r, category),
                    Err(e) => self.warn(&image, format!("image triplet: {e}")),
                }
                true
            }
            None => {
                // `image: nvcr.io/nvidia/driver` + `version: 1.0`: the version completes it.
                let Ok(bare) = ImageRef::parse(&image) else {
                    return false;
                };
                if !has_version || !bare.is_implicit_latest() || !image.contains('/') {
                    return false;
                }
                match ImageRef::from_parts(None, &image, tag.as_deref(), digest.as_deref()) {
                    Ok(r) => self.occurrence(r, category),
                    Err(e) => self.warn(&image, format!("image triplet: {e}")),
                }
                true
            }
        }
    }

    /// `image: {registry, repository, tag, digest}` (`registry/repository:tag@digest`), or
    /// `image: {repository, name, tag, digest}` (`repository/name:tag@digest`, as the KAI
    /// operator's `Image.Url()` composes it). A map with both `registry` and `name`, or a
    /// `name` without repository or without tag and digest, is a warning.
    fn image_map(&mut self, m: &Mapping, disabled: bool) {
        let repository = m.get("repository").and_then(non_empty).unwrap_or_default();
        let registry = m.get("registry").and_then(non_empty);
        let name = m.get("name").and_then(non_empty);
        let tag = m.get("tag").and_then(non_empty);
        let digest = m.get("digest").and_then(non_empty);
        let category = if disabled {
            Category::CrDisabled
        } else {
            Category::CrTriplet
        };
        let (prefix, path) = match (&registry, &name) {
            (Some(_), Some(_)) => {
                let value = format!("{}/{repository}", registry.unwrap_or_default());
                return self.warn(
                    &value,
                    "image map with registry, repository and name: not composed",
                );
            }
            (None, Some(n)) if repository.is_empty() => {
                return self.warn(
                    n,
                    "incomplete image map: name without repository (the operator's default is not known)",
                );
            }
            (None, Some(n)) if tag.is_none() && digest.is_none() => {
                return self.warn(
                    &format!("{}/{n}", repository.trim_end_matches('/')),
                    "incomplete image map: repository and name but no tag or digest",
                );
            }
            (None, Some(n)) => (Some(repository.clone()), n.clone()),
            (_, None) => (registry, repository.clone()),
        };
        match ImageRef::from_parts(prefix.as_deref(), &path, tag.as_deref(), digest.as_deref()) {
            Ok(r) if prefix.is_none() && is_bare_word(&r) => {
                self.warn(r.original(), "bare word, not an image reference")
            }
            Ok(r) => self.occurrence(r, category),
            Err(e) => self.warn(&path, format!("image map: {e}")),
        }
    }

    /// A string `image:` outside a pod spec.
    fn cr_image(&mut self, s: &str, disabled: bool) {
        if s.trim().is_empty() {
            return;
        }
        match ImageRef::parse(s) {
            Ok(r) if is_bare_word(&r) => self.warn(s, "bare word, not an image reference"),
            Ok(r) => self.occurrence(
                r,
                if disabled {
                    Category::CrDisabled
                } else {
                    Category::Cr
                },
            ),
            Err(e) => {
                if may_be_structured(s) {
                    self.embedded(s);
                } else {
                    self.warn(s, e.to_string());
                }
            }
        }
    }

    fn containers(&mut self, list: &Value) {
        let Value::Sequence(items) = list else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let Value::Mapping(c) = untag(item) else {
                continue;
            };
            self.with(i.to_string(), |w| w.container(c));
        }
    }

    fn container(&mut self, c: &Mapping) {
        for (k, v) in c {
            let key = key_string(k);
            let v = untag(v);
            self.with(key.clone(), |w| match (key.as_str(), v) {
                ("image", Value::String(s)) => match ImageRef::parse(s) {
                    Ok(r) => w.occurrence(r, Category::Pod),
                    Err(e) => w.warn(s, e.to_string()),
                },
                ("image", Value::Null) => {}
                ("image", other) => {
                    w.warn(&scalar(other).unwrap_or_default(), "image is not a string")
                }
                ("env", Value::Sequence(env)) => w.env(env),
                ("args" | "command", Value::Sequence(args)) => {
                    for (j, a) in args.iter().enumerate() {
                        w.with(j.to_string(), |w| match untag(a) {
                            Value::String(s) => {
                                let flag = s.split_once('=').map(|(f, _)| f);
                                w.indirect(flag, arg_value(s), s, Category::Arg)
                            }
                            other => w.node(other),
                        });
                    }
                }
                _ => w.node(v),
            });
        }
    }

    fn env(&mut self, env: &[Value]) {
        for (j, e) in env.iter().enumerate() {
            let Value::Mapping(e) = untag(e) else {
                continue;
            };
            let seg = e
                .get("name")
                .and_then(scalar)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| j.to_string());
            if let Some(Value::String(s)) = e.get("value").map(untag) {
                self.with(seg.clone(), |w| {
                    w.indirect(Some(&seg), Some(s), s, Category::Env)
                });
            }
        }
    }

    /// An env value or argument: an image when `value` is meant as one; a warning when the
    /// variable's or flag's `name` says image but the value names only a repository;
    /// otherwise `text` (the value or whole argument) is scanned for embedded YAML or JSON.
    fn indirect(
        &mut self,
        name: Option<&str>,
        value: Option<&str>,
        text: &str,
        category: Category,
    ) {
        if let Some(r) = value.and_then(indirect_image) {
            return self.occurrence(r, category);
        }
        match (name, value) {
            (Some(n), Some(v)) if repository_only(n, v) => self.warn(
                v,
                "names a repository without a tag or digest: not an image",
            ),
            _ => self.embedded(text),
        }
    }

    /// YAML or JSON held in a string: parsed (bounded) and walked; findings become
    /// [`Category::Embedded`] with path `outer#inner` (`outer#doc<n>/inner` when the string
    /// holds several documents).
    fn embedded(&mut self, s: &str) {
        if self.embed_depth >= self.limits.max_embed_depth || !may_be_structured(s) {
            return;
        }
        if s.len() > self.limits.max_embedded_bytes {
            self.warn(
                "",
                format!(
                    "embedded text of {} bytes not scanned for images (limit {})",
                    s.len(),
                    self.limits.max_embedded_bytes
                ),
            );
            return;
        }
        let docs = split_stream(s);
        if docs.len() > self.limits.max_documents {
            return;
        }
        let several = docs.len() > 1;
        let outer = self.path();
        for (n, doc) in docs.iter().enumerate() {
            let value = match parse_document(doc.text, Budget::from(self.limits)) {
                Ok(v) => v,
                Err(e) if e.limit => {
                    self.warn("", format!("embedded YAML not scanned: {}", e.message));
                    continue;
                }
                // Not YAML after all: ordinary text.
                Err(_) => continue,
            };
            if !matches!(untag(&value), Value::Mapping(_) | Value::Sequence(_)) {
                continue;
            }
            let mut sub = Walker::new(self.scope, self.limits, self.embed_depth + 1);
            sub.node(&value);
            let prefix = if several {
                format!("{outer}#doc{n}")
            } else {
                format!("{outer}#")
            };
            let join = |inner: &str| {
                if several && !inner.is_empty() {
                    format!("{prefix}/{inner}")
                } else {
                    format!("{prefix}{inner}")
                }
            };
            // Findings in a string have the line of the string.
            let line = if sub.out.images.is_empty() {
                None
            } else {
                self.line(None)
            };
            for (r, mut o) in sub.out.images {
                o.path = join(&o.path);
                if self.embed_depth == 0 {
                    o.line = line;
                }
                o.category = Category::Embedded;
                self.out.images.push((r, o));
            }
            for mut wn in sub.out.warnings {
                wn.path = join(&wn.path);
                if !wn.message.starts_with("embedded") {
                    wn.message = format!("embedded: {}", wn.message);
                }
                self.out.warnings.push(wn);
            }
        }
    }
}

/// A list under `containers`/`initContainers`/`ephemeralContainers` whose items are
/// mappings with a `name` or an `image`.
fn is_container_list(v: &Value) -> bool {
    match v {
        Value::Sequence(items) => {
            !items.is_empty()
                && items.iter().all(|i| match untag(i) {
                    Value::Mapping(m) => m.contains_key("name") || m.contains_key("image"),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// `enabled: false` (or `"false"`) in this mapping.
fn is_disabled(m: &Mapping) -> bool {
    match m.get("enabled").map(untag) {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

pub(crate) fn untag(mut v: &Value) -> &Value {
    while let Value::Tagged(t) = v {
        v = &t.value;
    }
    v
}

/// A scalar as text (strings as is, numbers and booleans formatted).
fn scalar(v: &Value) -> Option<String> {
    match untag(v) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn non_empty(v: &Value) -> Option<String> {
    scalar(v)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn key_string(k: &Value) -> String {
    match untag(k) {
        Value::Null => "~".to_string(),
        other => scalar(other).unwrap_or_else(|| "?".to_string()),
    }
}

fn str_at<'v>(mut v: &'v Value, keys: &[&str]) -> Option<&'v str> {
    for k in keys {
        v = untag(untag(v).get(k)?);
    }
    v.as_str()
}
