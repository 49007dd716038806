//! `replacements`: copy one field of a source object into fields of target objects, the last
//! transformer of each kustomization.

use crate::kustomization::Kustomization;
use crate::{get_str, id, KustomizeError, Object};
use serde_yaml_ng::{Mapping, Value};
use std::path::Path;

pub(crate) fn run(k: &Kustomization, objects: &mut [Object]) -> Result<(), KustomizeError> {
    for entry in k.list("replacements") {
        if let Some(path) = get_str(&entry, &["path"]) {
            let (file, text) = k.read_restricted(path)?;
            let v: Value = serde_yaml_ng::from_str(&text).map_err(|e| KustomizeError::Yaml {
                path: file.clone(),
                message: e.to_string(),
            })?;
            let list = match v {
                Value::Sequence(s) => s,
                other => vec![other],
            };
            for r in &list {
                apply(r, objects, &file)?;
            }
        } else {
            apply(&entry, objects, &k.file)?;
        }
    }
    Ok(())
}

/// Whether the object (by its current or original id) is selected: every field given must
/// equal; label and annotation selectors as for patches.
fn selected(o: &Object, sel: &Value) -> bool {
    let i = id(&o.doc);
    let eq = |f: &str, actual: &[&str]| get_str(sel, &[f]).is_none_or(|w| actual.contains(&w));
    eq("group", &[&i.group])
        && eq("version", &[&i.version])
        && eq("kind", &[&i.kind])
        && eq("name", &[&i.name, &o.original.1])
        && eq("namespace", &[&i.namespace, &o.original.2])
        && crate::patch::selector_matches(sel, "labelSelector", &o.doc)
        && crate::patch::selector_matches(sel, "annotationSelector", &o.doc)
}

fn apply(r: &Value, objects: &mut [Object], file: &Path) -> Result<(), KustomizeError> {
    let err = |m: String| KustomizeError::invalid(file, m);
    let source = r
        .get("source")
        .ok_or_else(|| err("replacement needs a source".into()))?;
    let found: Vec<&Object> = objects.iter().filter(|o| selected(o, source)).collect();
    let src = match found.as_slice() {
        [one] => *one,
        [] => return Err(err(format!("nothing selected by {}", brief(source)))),
        _ => {
            return Err(err(format!(
                "multiple matches for selector {}",
                brief(source)
            )))
        }
    };
    let path = get_str(source, &["fieldPath"]).unwrap_or("metadata.name");
    let mut value = lookup(&src.doc, &split(path))
        .ok_or_else(|| {
            err(format!(
                "fieldPath `{path}` is missing for replacement source {}",
                brief(source)
            ))
        })?
        .clone();
    if let Some(delim) = get_str(source, &["options", "delimiter"]) {
        let index = source
            .get("options")
            .and_then(|o| o.get("index"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let text = scalar_text(&value);
        let parts: Vec<&str> = text.split(delim).collect();
        let part = usize::try_from(index).ok().and_then(|i| parts.get(i));
        value = Value::from(*part.ok_or_else(|| {
            err(format!(
                "options.index {index} is out of bounds for value {text}"
            ))
        })?);
    }
    for target in r
        .get("targets")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let select = target
            .get("select")
            .ok_or_else(|| err("target must specify resources to select".into()))?;
        let rejects: Vec<&Value> = target
            .get("reject")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .collect();
        let paths: Vec<String> = match target.get("fieldPaths").and_then(Value::as_sequence) {
            Some(s) => s
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect(),
            None => vec!["metadata.name".into()],
        };
        let opts = target.get("options");
        let create = opts
            .and_then(|o| o.get("create"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for o in objects.iter_mut() {
            if !selected(o, select) || rejects.iter().any(|rj| selected(o, rj)) {
                continue;
            }
            for p in &paths {
                let mut hits = 0;
                set_all(&mut o.doc, &split(p), create, &mut |slot| {
                    hits += 1;
                    *slot = replaced(slot, &value, opts);
                });
                if hits == 0 {
                    let what = if create { "find or create" } else { "find" };
                    return Err(err(format!(
                        "unable to {what} field {p:?} in replacement target"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn brief(sel: &Value) -> String {
    serde_yaml_ng::to_string(sel)
        .unwrap_or_default()
        .trim()
        .replace('\n', ", ")
}

/// A field path split on dots outside `[...]`, as kyaml's smarter path splitter does: a
/// bracketed segment without `=` is a map key (brackets dropped), empty segments (a leading
/// `.`) are skipped.
pub(crate) fn split(path: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    let push = |seg: String, out: &mut Vec<String>| {
        if seg.is_empty() {
            return;
        }
        match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(key) if !key.contains('=') => out.push(key.to_string()),
            _ => out.push(seg),
        }
    };
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                push(std::mem::take(&mut cur), &mut out);
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    push(cur, &mut out);
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}

/// The new value of a target field: a scalar keeps its type and takes the value's text
/// (spliced in at `options.index` with `options.delimiter`); anything else is replaced.
fn replaced(old: &Value, value: &Value, opts: Option<&Value>) -> Value {
    let mut text = scalar_text(value);
    if let Some(delim) = opts.and_then(|o| get_str(o, &["delimiter"])) {
        let index = opts
            .and_then(|o| o.get("index"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut parts: Vec<String> = scalar_text(old).split(delim).map(String::from).collect();
        match usize::try_from(index) {
            Err(_) => parts.insert(0, text.clone()),
            Ok(i) if i >= parts.len() => parts.push(text.clone()),
            Ok(i) => parts[i] = text.clone(),
        }
        text = parts.join(delim);
    }
    match old {
        Value::String(_) => Value::from(text),
        Value::Null => value_with_text(value, text),
        Value::Bool(_) | Value::Number(_) => {
            serde_yaml_ng::from_str(&text).unwrap_or(Value::from(text))
        }
        _ => value.clone(),
    }
}

fn value_with_text(value: &Value, text: String) -> Value {
    match value {
        Value::String(_) => Value::from(text),
        Value::Mapping(_) | Value::Sequence(_) => value.clone(),
        _ => serde_yaml_ng::from_str(&text).unwrap_or(Value::from(text)),
    }
}

/// `[key=value]` as (key, value).
fn matcher(seg: &str) -> Option<(&str, &str)> {
    seg.strip_prefix('[')?.strip_suffix(']')?.split_once('=')
}

pub(crate) fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((seg, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (v, matcher(seg)) {
        (Value::Sequence(s), Some((k, want))) => s
            .iter()
            .find(|e| e.get(k).map(scalar_text).as_deref() == Some(want))?,
        (Value::Sequence(s), None) => s.get(seg.parse::<usize>().ok()?)?,
        (Value::Mapping(m), _) => m.get(seg.as_str())?,
        _ => return None,
    };
    lookup(next, rest)
}

/// Calls `f` on every field at `path` (`*` and `[k=v]` may match several), creating missing
/// fields when `create`.
fn set_all(v: &mut Value, path: &[String], create: bool, f: &mut dyn FnMut(&mut Value)) {
    let Some((seg, rest)) = path.split_first() else {
        f(v);
        return;
    };
    match v {
        Value::Sequence(s) => {
            if seg == "*" {
                s.iter_mut().for_each(|e| set_all(e, rest, create, f));
            } else if let Some((k, want)) = matcher(seg) {
                let mut any = false;
                for e in s
                    .iter_mut()
                    .filter(|e| e.get(k).map(scalar_text).as_deref() == Some(want))
                {
                    any = true;
                    set_all(e, rest, create, f);
                }
                if !any && create {
                    let mut m = Mapping::new();
                    m.insert(k.into(), want.into());
                    s.push(Value::Mapping(m));
                    let last = s.len() - 1;
                    set_all(&mut s[last], rest, create, f);
                }
            } else if let Some(e) = seg.parse::<usize>().ok().and_then(|i| s.get_mut(i)) {
                set_all(e, rest, create, f);
            }
        }
        Value::Mapping(m) => {
            let key = Value::from(seg.as_str());
            if !m.contains_key(&key) {
                if !create {
                    return;
                }
                let fresh = match rest.first() {
                    None => Value::Null,
                    Some(n) if matcher(n).is_some() || n == "*" => Value::Sequence(Vec::new()),
                    Some(_) => Value::Mapping(Mapping::new()),
                };
                m.insert(key.clone(), fresh);
            }
            if let Some(c) = m.get_mut(&key) {
                if c.is_null() && !rest.is_empty() && create {
                    *c = Value::Mapping(Mapping::new());
                }
                set_all(c, rest, create, f);
            }
        }
        Value::Null if create => {
            *v = Value::Mapping(Mapping::new());
            set_all(v, path, create, f);
        }
        _ => {}
    }
}
