//! `configMapGenerator`, `secretGenerator`, `generatorOptions`, and Kustomize's content hash
//! suffix (`api/hasher`: the SHA-256 of a Go-`json.Marshal`ed summary, first ten hex digits
//! with five of them remapped so the suffix never reads as a number).

use crate::kustomization::{read, Kustomization};
use crate::{get_str, id, KustomizeError, Object};
use base64::Engine as _;
use serde_yaml_ng::{Mapping, Value};
use sha2::{Digest as _, Sha256};

/// Options of a generator: the kustomization's `generatorOptions` overridden by its own.
#[derive(Default, Clone)]
struct Options {
    labels: Mapping,
    annotations: Mapping,
    no_hash: bool,
    immutable: bool,
}

impl Options {
    fn overlay(&self, v: Option<&Value>) -> Options {
        let mut o = self.clone();
        let Some(v) = v else { return o };
        for (field, target) in [
            ("labels", &mut o.labels),
            ("annotations", &mut o.annotations),
        ] {
            if let Some(Value::Mapping(m)) = v.get(field) {
                for (k, val) in m {
                    target.insert(k.clone(), val.clone());
                }
            }
        }
        if let Some(b) = v.get("disableNameSuffixHash").and_then(Value::as_bool) {
            o.no_hash = b;
        }
        if let Some(b) = v.get("immutable").and_then(Value::as_bool) {
            o.immutable = b;
        }
        o
    }
}

/// Runs both generators of `k`, adding to (or merging into) `objects`.
pub(crate) fn run(k: &Kustomization, objects: &mut Vec<Object>) -> Result<(), KustomizeError> {
    let base = Options::default().overlay(k.value.get("generatorOptions"));
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for g in k.list(field) {
            let opts = base.overlay(g.get("options"));
            let doc = generated(k, &g, kind, &opts)?;
            let behavior = get_str(&g, &["behavior"]).unwrap_or("create");
            place(k, objects, doc, &opts, behavior)?;
        }
    }
    Ok(())
}

/// One ConfigMapGenerator or SecretGenerator config of `generators:` (`kind` `ConfigMap` or
/// `Secret`): `args` are its fields, its own `options` only (the kustomization's
/// `generatorOptions` do not reach a generator config, as in Kustomize).
pub(crate) fn run_config(
    k: &Kustomization,
    objects: &mut Vec<Object>,
    args: &Value,
    kind: &str,
) -> Result<(), KustomizeError> {
    let opts = Options::default().overlay(args.get("options"));
    let doc = generated(k, args, kind, &opts)?;
    let behavior = get_str(args, &["behavior"]).unwrap_or("create");
    place(k, objects, doc, &opts, behavior)
}

/// The ConfigMap or Secret one generator entry describes.
fn generated(
    k: &Kustomization,
    g: &Value,
    kind: &str,
    opts: &Options,
) -> Result<Value, KustomizeError> {
    let Some(name) = get_str(g, &["name"]) else {
        return Err(KustomizeError::invalid(
            &k.file,
            format!("a {kind} generator needs a name"),
        ));
    };
    let pairs = collect_pairs(k, g)?;
    let mut data = Mapping::new();
    for (key, value) in pairs {
        let value = if kind == "Secret" {
            wrapped_base64(value.as_bytes())
        } else {
            value
        };
        data.insert(key.into(), value.into());
    }
    let mut meta = Mapping::new();
    meta.insert("name".into(), name.into());
    // An empty namespace is no namespace (Kustomize's `omitempty`).
    if let Some(ns) = get_str(g, &["namespace"]).filter(|ns| !ns.is_empty()) {
        meta.insert("namespace".into(), ns.into());
    }
    if !opts.labels.is_empty() {
        meta.insert("labels".into(), Value::Mapping(opts.labels.clone()));
    }
    if !opts.annotations.is_empty() {
        meta.insert(
            "annotations".into(),
            Value::Mapping(opts.annotations.clone()),
        );
    }
    let mut doc = Mapping::new();
    doc.insert("apiVersion".into(), "v1".into());
    doc.insert("kind".into(), kind.into());
    doc.insert("metadata".into(), Value::Mapping(meta));
    doc.insert("data".into(), Value::Mapping(data));
    if kind == "Secret" {
        let t = get_str(g, &["type"]).unwrap_or("Opaque");
        doc.insert("type".into(), t.into());
    }
    if opts.immutable {
        doc.insert("immutable".into(), true.into());
    }
    Ok(Value::Mapping(doc))
}

/// `literals`, `files`, `envs` (and the legacy `env`) as key/value pairs, in that order.
fn collect_pairs(k: &Kustomization, g: &Value) -> Result<Vec<(String, String)>, KustomizeError> {
    let list = |f: &str| -> Vec<String> {
        match g.get(f) {
            Some(Value::Sequence(s)) => s
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut envs = list("envs");
    envs.extend(list("env"));
    for env in envs {
        let (file, text) = k.read_restricted(&env)?;
        for (n, line) in text.lines().enumerate() {
            // As Kustomize's `kvFromLine`: the first line loses a BOM, every line its leading
            // whitespace; the value keeps its spaces.
            let line = if n == 0 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // A bare KEY takes its value from the environment, as Kustomize does.
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k.trim_end().to_string(), v.to_string()),
                None => (line.to_string(), std::env::var(line).unwrap_or_default()),
            };
            if key.is_empty() {
                return Err(KustomizeError::invalid(
                    &file,
                    format!("line {line:?} has no key"),
                ));
            }
            out.push((key, value));
        }
    }
    for lit in list("literals") {
        let Some((key, value)) = lit.split_once('=') else {
            return Err(KustomizeError::invalid(
                &k.file,
                format!("invalid literal source {lit}, expected key=value"),
            ));
        };
        out.push((key.to_string(), unquote(value)));
    }
    for f in list("files") {
        let (key, rel) = match f.split_once('=') {
            Some((key, rel)) => (key.to_string(), rel.to_string()),
            None => {
                let base = f.rsplit('/').next().unwrap_or(&f).to_string();
                (base, f.clone())
            }
        };
        let path = k.restricted(&k.dir.join(&rel))?;
        let text = read(&path)?;
        out.push((key, text));
    }
    Ok(out)
}

/// Base64 as Kustomize writes Secret data: once it reaches 70 characters, in lines of 70, each
/// ended by a newline.
fn wrapped_base64(bytes: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// A literal's value without one pair of matching surrounding quotes.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Adds a generated object, or merges it into / replaces the existing one (`behavior`).
fn place(
    k: &Kustomization,
    objects: &mut Vec<Object>,
    doc: Value,
    opts: &Options,
    behavior: &str,
) -> Result<(), KustomizeError> {
    let new = id(&doc);
    let existing = objects.iter_mut().find(|o| {
        let i = id(&o.doc);
        // Kustomize matches any of the object's ids: as read or as transformed so far.
        o.original.0 == new.kind
            && (o.original.1 == new.name || i.name == new.name)
            && (new.namespace.is_empty()
                || i.namespace == new.namespace
                || o.original.2 == new.namespace)
    });
    match (behavior, existing) {
        ("merge" | "replace", Some(old)) => {
            merge_into(&mut old.doc, doc, behavior == "replace");
            // A merge keeps a base's disabled hash (what `kubectl kustomize` does).
            old.hash = !opts.no_hash && (behavior == "replace" || old.hash);
        }
        ("merge" | "replace", None) => {
            return Err(KustomizeError::invalid(
                &k.file,
                format!("id {:?} does not exist; cannot merge or replace", new.name),
            ))
        }
        // Kustomize treats any other behavior as `create`.
        (_, None) => {
            let mut o = k.object(doc, &k.file);
            o.hash = !opts.no_hash;
            o.generated = true;
            objects.push(o);
        }
        (_, Some(_)) => {
            return Err(KustomizeError::invalid(
                &k.file,
                format!(
                    "merging from generator: cannot add {} {:?}: it already exists (use behavior merge or replace)",
                    new.kind, new.name
                ),
            ))
        }
    }
    Ok(())
}

/// `merge` adds the new data, labels and annotations over the old; `replace` keeps only the
/// old name and namespace.
fn merge_into(old: &mut Value, new: Value, replace: bool) {
    let Value::Mapping(new) = new else { return };
    let Value::Mapping(o) = old else { return };
    for (key, value) in new {
        match (key.as_str(), replace) {
            (Some("metadata"), _) => {
                let Some(Value::Mapping(meta)) = o.get_mut("metadata") else {
                    continue;
                };
                let Value::Mapping(nm) = value else { continue };
                for field in ["labels", "annotations"] {
                    if let Some(Value::Mapping(add)) = nm.get(field) {
                        let slot = meta
                            .entry(field.into())
                            .or_insert_with(|| Value::Mapping(Mapping::new()));
                        if let Value::Mapping(m) = slot {
                            m.extend(add.clone());
                        }
                    }
                }
            }
            (Some("data"), false) => {
                let slot = o
                    .entry(key)
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
                if let (Value::Mapping(m), Value::Mapping(add)) = (slot, value) {
                    m.extend(add);
                }
            }
            _ => {
                o.insert(key, value);
            }
        }
    }
}

/// Appends the content hash to the name of every generated object that wants one.
pub(crate) fn add_hashes(objects: &mut [Object]) {
    for o in objects.iter_mut().filter(|o| o.hash) {
        let h = hash(&o.doc);
        let name = id(&o.doc).name;
        if let Some(Value::Mapping(meta)) = o.doc.get_mut("metadata") {
            meta.insert("name".into(), format!("{name}-{h}").into());
        }
    }
}

/// Kustomize's hash of a ConfigMap or Secret.
pub(crate) fn hash(doc: &Value) -> String {
    let i = id(doc);
    let field = |f: &str| doc.get(f).map(go_json).unwrap_or_else(|| "\"\"".into());
    let mut parts: Vec<(&str, String)> = vec![
        ("data", field("data")),
        ("kind", go_string(&i.kind)),
        // Kustomize looks the name up as one field called `metadata/name`, which never
        // exists: the hash never covers the name.
        ("name", go_string("")),
    ];
    if i.kind == "Secret" {
        if doc.get("stringData").is_some() {
            parts.push(("stringData", field("stringData")));
        }
        parts.push(("type", field("type")));
    } else if doc.get("binaryData").is_some() {
        parts.push(("binaryData", field("binaryData")));
    }
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{}:{v}", go_string(k)))
        .collect();
    let digest = hex::encode(Sha256::digest(format!("{{{}}}", body.join(",")).as_bytes()));
    digest[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// A value as Go's `encoding/json` writes it (maps with sorted keys, HTML-safe escapes).
fn go_json(v: &Value) -> String {
    match v {
        Value::Mapping(m) => {
            let mut items: Vec<(String, String)> =
                m.iter().map(|(k, v)| (scalar(k), go_json(v))).collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let body: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}:{v}", go_string(k)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Sequence(s) => format!("[{}]", s.iter().map(go_json).collect::<Vec<_>>().join(",")),
        Value::Null => "null".into(),
        other => go_string(&scalar(other)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        _ => String::new(),
    }
}

/// A JSON string as Go's `encoding/json` escapes it.
fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
