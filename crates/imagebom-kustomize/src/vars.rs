//! The legacy `vars`: `$(NAME)` in Kustomize's var-reference fields replaced by a field of
//! the object a var names, after name references are fixed at the end of the build.
//!
//! As in Kustomize, a var is bound to its object in the kustomization that declares it (by
//! the object's current or original id there); its value is read from that object at the
//! end. `$$` escapes a `$`; an undefined `$(NAME)` is left as it is.

use crate::config::FieldSpec;
use crate::kustomization::Kustomization;
use crate::{id, KustomizeError, Object};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

/// One declared var.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub name: String,
    pub field_path: String,
    /// The kustomization that declared it.
    pub file: PathBuf,
}

/// A field of a mapping read case-insensitively (Kustomize reads `fieldpath` and `fieldPath`).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_mapping()?.iter().find_map(|(k, v)| {
        k.as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(name))
            .then_some(v)
    })
}

/// Binds `k`'s vars to their objects and returns them.
pub(crate) fn declare(
    k: &Kustomization,
    objects: &mut [Object],
) -> Result<Vec<Var>, KustomizeError> {
    let mut out = Vec::new();
    for v in k.list("vars") {
        let s = |parent: Option<&Value>, f: &str| {
            parent
                .and_then(|p| field(p, f))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = s(Some(&v), "name");
        if name.is_empty() {
            return Err(KustomizeError::invalid(&k.file, "vars: a var needs a name"));
        }
        let objref = field(&v, "objref");
        let (mut group, mut version) = (s(objref, "group"), s(objref, "version"));
        let api = s(objref, "apiVersion");
        if !api.is_empty() {
            (group, version) = match api.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), api),
            };
        }
        let (kind, obj_name, ns) = (s(objref, "kind"), s(objref, "name"), s(objref, "namespace"));
        let mut field_path = s(field(&v, "fieldref"), "fieldPath");
        if field_path.is_empty() {
            field_path = "metadata.name".into();
        }
        let matched: Vec<usize> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                let i = id(&o.doc);
                let names = [i.name.as_str(), o.original.1.as_str()];
                let spaces = [i.namespace.as_str(), o.original.2.as_str()];
                i.group == group
                    && i.version == version
                    && i.kind == kind
                    && names.contains(&obj_name.as_str())
                    && (ns.is_empty() || spaces.contains(&ns.as_str()))
            })
            .map(|(n, _)| n)
            .collect();
        if matched.len() > 1 {
            return Err(KustomizeError::invalid(
                &k.file,
                format!(
                    "merging vars: found {} resId matches for var {name} (unable to disambiguate)",
                    matched.len()
                ),
            ));
        }
        if let Some(&n) = matched.first() {
            objects[n].vars.push(name.clone());
        }
        out.push(Var {
            name,
            field_path,
            file: k.file.clone(),
        });
    }
    Ok(out)
}

/// Adds `incoming` to `set`, refusing a name seen before as Kustomize does.
pub(crate) fn merge(
    set: &mut Vec<Var>,
    incoming: Vec<Var>,
    file: &Path,
) -> Result<(), KustomizeError> {
    for v in incoming {
        if set.iter().any(|s| s.name == v.name) {
            return Err(KustomizeError::invalid(
                file,
                format!("var '{}' already encountered", v.name),
            ));
        }
        set.push(v);
    }
    Ok(())
}

/// Kinds whose pod template sits at `spec/template/spec`, and their extra var fields.
const TEMPLATE_KINDS: [&str; 5] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "ReplicaSet",
    "StatefulSet",
];

/// The var-reference fields of Kustomize's built-in configuration (`varreference.go`).
fn default_specs() -> Vec<FieldSpec> {
    let spec = |kind: &str, path: String| FieldSpec {
        group: String::new(),
        version: String::new(),
        kind: kind.to_string(),
        path,
        create: false,
    };
    let container_fields = |root: &str| {
        let mut v = Vec::new();
        for list in ["containers", "initContainers"] {
            for f in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                v.push(format!("{root}/{list}/{f}"));
            }
        }
        v
    };
    let mut out = Vec::new();
    for p in container_fields("spec/jobTemplate/spec/template/spec") {
        out.push(spec("CronJob", p));
    }
    out.push(spec(
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server".into(),
    ));
    for kind in TEMPLATE_KINDS {
        for p in container_fields("spec/template/spec") {
            out.push(spec(kind, p));
        }
        if kind == "StatefulSet" {
            out.push(spec(
                kind,
                "spec/volumeClaimTemplates/spec/nfs/server".into(),
            ));
        } else {
            out.push(spec(kind, "spec/template/spec/volumes/nfs/server".into()));
        }
        if kind == "Deployment" {
            out.push(spec(kind, "spec/template/metadata/annotations".into()));
        }
    }
    for p in container_fields("spec") {
        out.push(spec("Pod", p));
    }
    out.push(spec("Pod", "spec/volumes/nfs/server".into()));
    for p in ["spec/rules/host", "spec/tls/hosts", "spec/tls/secretName"] {
        out.push(spec("Ingress", p.into()));
    }
    for p in ["spec/ports/port", "spec/ports/targetPort"] {
        out.push(spec("Service", p.into()));
    }
    out.push(spec("PersistentVolume", "spec/nfs/server".into()));
    out.push(spec("", "metadata/labels".into()));
    out.push(spec("", "metadata/annotations".into()));
    out
}

/// Resolves every var and replaces its references in the var-reference fields.
pub(crate) fn resolve(
    objects: &mut [Object],
    vars: &[Var],
    extra: &[FieldSpec],
) -> Result<(), KustomizeError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for v in vars {
        let Some(o) = objects.iter().find(|o| o.vars.contains(&v.name)) else {
            return Err(KustomizeError::invalid(
                &v.file,
                format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.name
                ),
            ));
        };
        let path = crate::replace::split(&v.field_path);
        let value = crate::replace::lookup(&o.doc, &path)
            .filter(|x| !x.is_mapping() && !x.is_sequence() && !x.is_null())
            .ok_or_else(|| {
                KustomizeError::invalid(
                    &v.file,
                    format!(
                        "field specified in var '{}' (fieldPath {}) not found in corresponding resource",
                        v.name, v.field_path
                    ),
                )
            })?;
        values.push((v.name.clone(), value.clone()));
    }
    let mut specs = default_specs();
    for s in extra {
        if !specs.contains(s) {
            specs.push(s.clone());
        }
    }
    for o in objects.iter_mut() {
        let i = id(&o.doc);
        for spec in specs.iter().filter(|s| s.selects(&i)) {
            crate::fields::visit(&mut o.doc, &spec.segments(), false, &mut |leaf| {
                substitute(leaf, &values)
            });
        }
    }
    Ok(())
}

fn substitute(leaf: &mut Value, values: &[(String, Value)]) {
    match leaf {
        Value::String(s) => *leaf = expand(s, values),
        Value::Mapping(m) => {
            for (_, v) in m.iter_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
        }
        _ => {}
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `$(NAME)` expansion as Kustomize's refvar does it: a string that is exactly one reference
/// takes the value with its type.
fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let bytes = input.as_bytes();
    let (mut out, mut i, mut checkpoint) = (String::new(), 0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.push_str(&input[checkpoint..i]);
            let rest = &input[i + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        match lookup(name) {
                            Some(v) if input.len() == name.len() + 3 => return v.clone(),
                            Some(v) => out.push_str(&text(v)),
                            None => {
                                if input.len() == name.len() + 3 {
                                    return Value::from(input);
                                }
                                out.push_str(&input[i..i + close + 2]);
                            }
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or_default();
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            i += advance + 1;
            checkpoint = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Value::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kustomize() {
        let vals = vec![
            ("A".to_string(), Value::from("x")),
            ("N".to_string(), Value::from(8080)),
        ];
        assert_eq!(expand("$(A).svc", &vals), Value::from("x.svc"));
        assert_eq!(expand("$(N)", &vals), Value::from(8080));
        assert_eq!(expand("p$(N)", &vals), Value::from("p8080"));
        assert_eq!(expand("$$(A)", &vals), Value::from("$(A)"));
        assert_eq!(expand("$(B)-$(A)", &vals), Value::from("$(B)-x"));
        assert_eq!(expand("a$", &vals), Value::from("a$"));
        assert_eq!(expand("$(open", &vals), Value::from("$(open"));
        assert_eq!(expand("$x", &vals), Value::from("$x"));
    }
}
