//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: strategic merge (maps merged,
//! `null` deletes, `$patch: delete|replace`, lists merged by the merge key of the built-in
//! type where [`crate::schema`] knows one, else replaced) and JSON 6902 (RFC 6902 operations).

use crate::kustomization::{describe, parse_documents, Kustomization};
use crate::{get_str, id, schema, KustomizeError, Object};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// The legacy `patchesStrategicMerge`: each entry a file or an inline patch.
pub(crate) fn strategic_merge_legacy(
    k: &Kustomization,
    objects: &mut [Object],
) -> Result<(), KustomizeError> {
    for entry in k.strings("patchesStrategicMerge") {
        let (file, text) = source(k, &entry)?;
        for p in parse_documents(&text, &file)? {
            smp_by_id(objects, &p, &file, Options::default())?;
        }
    }
    Ok(())
}

/// `patches`: each with `path` or `patch`, and an optional `target`.
pub(crate) fn patches(k: &Kustomization, objects: &mut [Object]) -> Result<(), KustomizeError> {
    for entry in k.list("patches") {
        let (file, text) = if let Some(path) = get_str(&entry, &["path"]) {
            k.read_restricted(path)?
        } else if let Some(p) = get_str(&entry, &["patch"]) {
            (k.file.clone(), p.to_string())
        } else {
            return Err(KustomizeError::invalid(
                &k.file,
                "must specify one of patch and path in patches",
            ));
        };
        let options = Options::parse(entry.get("options"), &k.file)?;
        apply_patch(objects, &text, &file, entry.get("target"), options)?;
    }
    Ok(())
}

/// `transformers`: files of transformer configurations, run after the kustomization's own
/// transformers. Only Kustomize's builtin `PatchTransformer` (`patch` or `path`, `target`) is
/// read; any other is refused naming the file.
pub(crate) fn transformers(
    k: &Kustomization,
    objects: &mut [Object],
) -> Result<(), KustomizeError> {
    for entry in k.strings("transformers") {
        let (file, text) = k.read_restricted(&entry)?;
        for t in parse_documents(&text, &file)? {
            let api = get_str(&t, &["apiVersion"]).unwrap_or("");
            let kind = get_str(&t, &["kind"]).unwrap_or("");
            if api == "builtin"
                && [
                    "PrefixSuffixTransformer",
                    "PrefixTransformer",
                    "SuffixTransformer",
                ]
                .contains(&kind)
            {
                prefix_suffix_transformer(&t, objects);
                continue;
            }
            if api != "builtin" || kind != "PatchTransformer" {
                return Err(KustomizeError::Unsupported {
                    path: file.clone(),
                    feature: format!("the transformer {api}/{kind}"),
                });
            }
            let (pfile, ptext) = if let Some(path) = get_str(&t, &["path"]) {
                k.read_restricted(path)?
            } else if let Some(p) = get_str(&t, &["patch"]) {
                (file.clone(), p.to_string())
            } else {
                return Err(KustomizeError::invalid(
                    &file,
                    "must specify one of patch and path in PatchTransformer",
                ));
            };
            let options = Options::parse(t.get("options"), &file)?;
            apply_patch(objects, &ptext, &pfile, t.get("target"), options)?;
        }
    }
    Ok(())
}

/// A builtin prefix/suffix transformer: `prefix` and `suffix` added to the string fields its
/// `fieldSpecs` select (CRDs, APIServices and Namespaces skipped, as Kustomize does).
fn prefix_suffix_transformer(t: &Value, objects: &mut [Object]) {
    let prefix = get_str(t, &["prefix"]).unwrap_or("");
    let suffix = get_str(t, &["suffix"]).unwrap_or("");
    let specs: Vec<crate::config::FieldSpec> = t
        .get("fieldSpecs")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(crate::config::FieldSpec::parse)
        .collect();
    for o in objects.iter_mut() {
        let i = id(&o.doc);
        if i.kind == "CustomResourceDefinition"
            || i.kind == "Namespace"
            || i.kind == "APIService" && i.group == "apiregistration.k8s.io"
        {
            continue;
        }
        for spec in specs.iter().filter(|s| s.selects(&i)) {
            crate::fields::visit(&mut o.doc, &spec.segments(), spec.create, &mut |leaf| {
                if let Value::String(v) = leaf {
                    *v = format!("{prefix}{v}{suffix}");
                }
            });
        }
    }
}

/// The legacy `patchesJson6902`: a target and a `path` or inline `patch`.
pub(crate) fn json6902_legacy(
    k: &Kustomization,
    objects: &mut [Object],
) -> Result<(), KustomizeError> {
    for entry in k.list("patchesJson6902") {
        let (file, text) = if let Some(path) = get_str(&entry, &["path"]) {
            k.read_restricted(path)?
        } else {
            let p = get_str(&entry, &["patch"]).unwrap_or_default();
            (k.file.clone(), p.to_string())
        };
        let ops = parse_ops(&text, &file)?;
        for o in objects
            .iter_mut()
            .filter(|o| matches(o, entry.get("target")))
        {
            json6902(&mut o.doc, &ops, &file)?;
        }
    }
    Ok(())
}

fn source(k: &Kustomization, entry: &str) -> Result<(PathBuf, String), KustomizeError> {
    let looks_inline = entry.contains('\n') || entry.contains(": ");
    if looks_inline {
        return Ok((k.file.clone(), entry.to_string()));
    }
    k.read_restricted(entry)
}

/// A patch's `options`: whether a strategic merge patch may rename its target or change its
/// kind (Kustomize resets both otherwise, and always resets the namespace).
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    allow_name_change: bool,
    allow_kind_change: bool,
}

impl Options {
    /// `options` of a patch in `file`: a map of booleans; other keys are ignored, as Kustomize
    /// ignores them.
    fn parse(v: Option<&Value>, file: &Path) -> Result<Self, KustomizeError> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Options::default());
        };
        let Value::Mapping(m) = v else {
            return Err(KustomizeError::invalid(
                file,
                "patches: `options` must be a map of booleans",
            ));
        };
        let flag = |key: &str| match m.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(KustomizeError::invalid(
                file,
                format!("patches: options.{key} must be true or false"),
            )),
        };
        Ok(Options {
            allow_name_change: flag("allowNameChange")?,
            allow_kind_change: flag("allowKindChange")?,
        })
    }
}

fn apply_patch(
    objects: &mut [Object],
    text: &str,
    file: &Path,
    target: Option<&Value>,
    options: Options,
) -> Result<(), KustomizeError> {
    let first: Value = serde_yaml_ng::from_str(text).unwrap_or(Value::Null);
    if first.is_sequence() {
        let ops = parse_ops(text, file)?;
        let Some(target) = target else {
            return Err(KustomizeError::invalid(
                file,
                "a JSON 6902 patch needs a target",
            ));
        };
        for o in objects.iter_mut().filter(|o| matches(o, Some(target))) {
            json6902(&mut o.doc, &ops, file)?;
        }
        return Ok(());
    }
    for p in parse_documents(text, file)? {
        match target {
            None => smp_by_id(objects, &p, file, options)?,
            Some(t) => {
                for o in objects.iter_mut().filter(|o| matches(o, Some(t))) {
                    smp_object(o, &p, options);
                }
            }
        }
    }
    Ok(())
}

/// A strategic merge patch applied to the one object with its id.
fn smp_by_id(
    objects: &mut [Object],
    p: &Value,
    file: &Path,
    options: Options,
) -> Result<(), KustomizeError> {
    let pid = id(p);
    let found: Vec<usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            let i = id(&o.doc);
            let name_ok = i.name == pid.name || o.original.1 == pid.name;
            i.kind == pid.kind
                && i.group == pid.group
                && name_ok
                && (pid.namespace.is_empty()
                    || i.namespace == pid.namespace
                    || o.original.2 == pid.namespace)
        })
        .map(|(n, _)| n)
        .collect();
    if found.len() != 1 {
        let d = describe(&pid);
        return Err(KustomizeError::invalid(
            file,
            format!(
                "no resource matches strategic merge patch \"{d}\": no matches for Id {d}; failed to find unique target for patch {d}"
            ),
        ));
    }
    smp_object(&mut objects[found[0]], p, options);
    Ok(())
}

fn smp_object(o: &mut Object, p: &Value, options: Options) {
    let api = get_str(&o.doc, &["apiVersion"]).unwrap_or("").to_string();
    let kind = format!("{api} {}", id(&o.doc).kind);
    let mut patch = p.clone();
    // The patch's own namespace never moves the target; its name and kind rename it only
    // with `allowNameChange` / `allowKindChange`, as in Kustomize's `ApplySmPatch`.
    if let Some(Value::Mapping(meta)) = patch.get_mut("metadata") {
        if !options.allow_name_change {
            meta.remove("name");
        }
        meta.remove("namespace");
    }
    if let Value::Mapping(m) = &mut patch {
        m.remove("apiVersion");
        if !options.allow_kind_change {
            m.remove("kind");
        }
    }
    if get_str(&patch, &["$patch"]) == Some("delete") {
        o.doc = Value::Null;
        return;
    }
    merge(&mut o.doc, &patch, &kind, "");
}

/// Strategic merge of `patch` into `doc`; `path` is the field path from the object's root.
fn merge(doc: &mut Value, patch: &Value, kind: &str, path: &str) {
    let (Value::Mapping(d), Value::Mapping(p)) = (&mut *doc, patch) else {
        *doc = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut clean = p.clone();
        clean.remove("$patch");
        *d = clean;
        return;
    }
    for (k, pv) in p {
        let key = k.as_str().unwrap_or("");
        if key.starts_with("$setElementOrder/") || key == "$patch" || key.starts_with("$retainKeys")
        {
            continue;
        }
        let child_path = format!("{path}/{key}");
        if pv.is_null() {
            d.remove(k);
            continue;
        }
        match (d.get_mut(k), pv) {
            (Some(dv @ Value::Mapping(_)), Value::Mapping(_)) => {
                if pv.get("$patch").and_then(Value::as_str) == Some("delete") {
                    d.remove(k);
                } else {
                    merge(dv, pv, kind, &child_path);
                }
            }
            (Some(Value::Sequence(ds)), Value::Sequence(ps)) => {
                merge_list(ds, ps, kind, &child_path)
            }
            _ => {
                d.insert(k.clone(), strip_directives(pv));
            }
        }
    }
}

/// A list field: merged by its merge key when the schema gives one, else replaced.
fn merge_list(ds: &mut Vec<Value>, ps: &[Value], kind: &str, path: &str) {
    let (api, kind_only) = kind.split_once(' ').unwrap_or(("", kind));
    let Some((key, strategy)) = schema::merge_key(api, kind_only, path) else {
        *ds = ps.iter().map(strip_directives).collect();
        return;
    };
    if !strategy.contains("merge") {
        *ds = ps.iter().map(strip_directives).collect();
        return;
    }
    if key.is_empty() {
        // A list of scalars with the merge strategy: union, patch items appended.
        for p in ps {
            if !ds.contains(p) {
                ds.push(p.clone());
            }
        }
        return;
    }
    // Kustomize merges with its "prepend" option: the patch's elements first, in its order
    // (merged into the matching element where there is one), then the others in theirs.
    let key_v = Value::from(key.as_str());
    let mut rest: Vec<Option<Value>> = std::mem::take(ds).into_iter().map(Some).collect();
    let mut head = Vec::new();
    for p in ps {
        let pk = p.get(&key_v);
        let pos = pk.and_then(|pk| {
            rest.iter()
                .position(|d| d.as_ref().is_some_and(|d| d.get(&key_v) == Some(pk)))
        });
        let delete = get_str(p, &["$patch"]) == Some("delete");
        match (pos.and_then(|i| rest[i].take()), delete) {
            (Some(_), true) | (None, true) => {}
            (Some(mut d), false) => {
                merge(&mut d, p, kind, path);
                head.push(d);
            }
            (None, false) => head.push(strip_directives(p)),
        }
    }
    head.extend(rest.into_iter().flatten());
    *ds = head;
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                let key = k.as_str().unwrap_or("");
                if key.starts_with('$') {
                    continue;
                }
                if !v.is_null() {
                    out.insert(k.clone(), strip_directives(v));
                }
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Whether an object is selected by a patch `target` (name and namespace are anchored regexes,
/// label and annotation selectors `k=v,...`).
fn matches(o: &Object, target: Option<&Value>) -> bool {
    let Some(t) = target else { return false };
    let i = id(&o.doc);
    let eq = |field: &str, actual: &str| get_str(t, &[field]).is_none_or(|w| w == actual);
    let re = |field: &str, actual: &[&str]| {
        get_str(t, &[field]).is_none_or(|w| {
            regex::Regex::new(&format!("^(?:{w})$"))
                .map(|r| actual.iter().any(|a| r.is_match(a)))
                .unwrap_or(false)
        })
    };
    eq("group", &i.group)
        && eq("version", &i.version)
        && eq("kind", &i.kind)
        && re("name", &[&i.name, &o.original.1])
        && re("namespace", &[&i.namespace])
        && selector(
            t,
            "labelSelector",
            o.doc.get("metadata").and_then(|m| m.get("labels")),
        )
        && selector(
            t,
            "annotationSelector",
            o.doc.get("metadata").and_then(|m| m.get("annotations")),
        )
}

/// Whether `doc`'s labels (`labelSelector`) or annotations (`annotationSelector`) match the
/// selector in `t[field]` (absent: yes).
pub(crate) fn selector_matches(t: &Value, field: &str, doc: &Value) -> bool {
    let map = if field == "labelSelector" {
        "labels"
    } else {
        "annotations"
    };
    selector(t, field, doc.get("metadata").and_then(|m| m.get(map)))
}

/// An equality-based selector (`a=b,c!=d,e`) over a labels map.
fn selector(t: &Value, field: &str, labels: Option<&Value>) -> bool {
    let Some(sel) = get_str(t, &[field]) else {
        return true;
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    sel.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k.trim()) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                get(k).is_none()
            } else {
                get(term).is_some()
            }
        })
}

/// One RFC 6902 operation.
struct Op {
    op: String,
    path: String,
    from: String,
    value: Option<Value>,
}

fn parse_ops(text: &str, file: &Path) -> Result<Vec<Op>, KustomizeError> {
    let v: Value = serde_yaml_ng::from_str(text).map_err(|e| KustomizeError::Yaml {
        path: file.to_path_buf(),
        message: e.to_string(),
    })?;
    let Value::Sequence(items) = v else {
        return Err(KustomizeError::invalid(
            file,
            "a JSON 6902 patch must be a list of operations",
        ));
    };
    Ok(items
        .iter()
        .map(|i| Op {
            op: get_str(i, &["op"]).unwrap_or("").to_string(),
            path: get_str(i, &["path"]).unwrap_or("").to_string(),
            from: get_str(i, &["from"]).unwrap_or("").to_string(),
            value: i.get("value").cloned(),
        })
        .collect())
}

fn json6902(doc: &mut Value, ops: &[Op], file: &Path) -> Result<(), KustomizeError> {
    for op in ops {
        let fail = |what: &str| {
            KustomizeError::invalid(
                file,
                format!("{what} for {} operation on {:?}", op.op, op.path),
            )
        };
        match op.op.as_str() {
            "add" => add(doc, &op.path, op.value.clone().unwrap_or(Value::Null))
                .ok_or_else(|| fail("add operation does not apply: doc is missing path"))?,
            "remove" => {
                remove(doc, &op.path).ok_or_else(|| fail("unable to remove nonexistent key"))?;
            }
            "replace" => {
                // As Kustomize's JSON patch library does: replacing a missing key of an
                // existing map adds it; a missing list index or parent is an error.
                let value = op.value.clone().unwrap_or(Value::Null);
                match parent(doc, &op.path) {
                    Some((Value::Mapping(m), last)) => {
                        m.insert(Value::from(last), value);
                    }
                    _ => {
                        let slot = pointer(doc, &op.path).ok_or_else(|| {
                            fail("replace operation does not apply: doc is missing key")
                        })?;
                        *slot = value;
                    }
                }
            }
            "move" => {
                let v = remove(doc, &op.from).ok_or_else(|| fail("missing from"))?;
                add(doc, &op.path, v).ok_or_else(|| fail("missing path"))?;
            }
            "copy" => {
                let v = pointer(doc, &op.from)
                    .ok_or_else(|| fail("missing from"))?
                    .clone();
                add(doc, &op.path, v).ok_or_else(|| fail("missing path"))?;
            }
            "test" => {
                let v = pointer(doc, &op.path).ok_or_else(|| fail("testing value failed"))?;
                if Some(&*v) != op.value.as_ref() {
                    return Err(fail("testing value failed"));
                }
            }
            other => return Err(fail(&format!("unexpected operation {other:?}"))),
        }
    }
    Ok(())
}

fn tokens(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn child<'a>(v: &'a mut Value, t: &str) -> Option<&'a mut Value> {
    match v {
        Value::Mapping(m) => m.get_mut(t),
        Value::Sequence(s) => s.get_mut(t.parse::<usize>().ok()?),
        _ => None,
    }
}

fn pointer<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in tokens(path) {
        cur = child(cur, &t)?;
    }
    Some(cur)
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let mut toks = tokens(path);
    let last = toks.pop()?;
    let mut cur = doc;
    for t in toks {
        cur = child(cur, &t)?;
    }
    Some((cur, last))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Option<()> {
    if path.is_empty() {
        *doc = value;
        return Some(());
    }
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Mapping(m) => {
            m.insert(Value::from(last), value);
        }
        Value::Sequence(s) if last == "-" => s.push(value),
        Value::Sequence(s) => {
            let i: usize = last.parse().ok()?;
            if i > s.len() {
                return None;
            }
            s.insert(i, value);
        }
        _ => return None,
    }
    Some(())
}

fn remove(doc: &mut Value, path: &str) -> Option<Value> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Mapping(m) => m.remove(last.as_str()),
        Value::Sequence(s) => {
            let i: usize = last.parse().ok()?;
            (i < s.len()).then(|| s.remove(i))
        }
        _ => None,
    }
}
