//! Strategic-merge list keys of the built-in Kubernetes types, looked up in the table that
//! `cargo xtask kustomize-schema` generates from the Kubernetes OpenAPI schema
//! (`schema_table.rs`; provenance and licence at its top).

include!("schema_table.rs");

use serde_yaml_ng::Value;
use std::cell::RefCell;

thread_local! {
    /// The schema a kustomization's `openapi: {path: …}` gave for this build (Kustomize
    /// makes it global to the build too).
    static CUSTOM: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// Sets (or, with `None`, clears) the custom OpenAPI schema of the build on this thread.
pub(crate) fn set_custom(schema: Option<Value>) {
    CUSTOM.with(|c| *c.borrow_mut() = schema);
}

/// The merge key (empty for a list of scalars) and patch strategy of the list at `path`
/// (`/spec/template/spec/containers`) of `apiVersion` and `kind`: from the custom schema
/// when it defines the type, else from the built-in one; `None` when the schema has none.
pub(crate) fn merge_key(api_version: &str, kind: &str, path: &str) -> Option<(String, String)> {
    let custom = CUSTOM.with(|c| {
        c.borrow()
            .as_ref()
            .map(|schema| custom_merge_key(schema, api_version, kind, path))
    });
    match custom {
        Some(Some(found)) => found,
        _ => {
            builtin_merge_key(api_version, kind, path).map(|(k, s)| (k.to_string(), s.to_string()))
        }
    }
}

/// `Some(answer)` when the custom schema defines the type.
fn custom_merge_key(
    schema: &Value,
    api_version: &str,
    kind: &str,
    path: &str,
) -> Option<Option<(String, String)>> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let defs = schema.get("definitions")?.as_mapping()?;
    let root = defs.values().find(|d| {
        d.get("x-kubernetes-group-version-kind")
            .and_then(Value::as_sequence)
            .is_some_and(|gvks| {
                gvks.iter().any(|g| {
                    let f = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("");
                    f("group") == group && f("version") == version && f("kind") == kind
                })
            })
    })?;
    let resolve = |v: &Value| -> Option<Value> {
        let mut v = v.clone();
        for _ in 0..64 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => v = defs.get(r.trim_start_matches("#/definitions/"))?.clone(),
                None => return Some(v),
            }
        }
        None
    };
    let mut node = resolve(root);
    let mut segs = path.trim_start_matches('/').split('/').peekable();
    while let Some(seg) = segs.next() {
        let Some(prop) = node
            .as_ref()
            .and_then(|n| n.get("properties"))
            .and_then(|p| p.get(seg))
            .and_then(resolve)
        else {
            return Some(None);
        };
        if segs.peek().is_none() {
            let f = |k: &str| {
                prop.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let strategy = f("x-kubernetes-patch-strategy");
            return Some(
                (!strategy.is_empty()).then(|| (f("x-kubernetes-patch-merge-key"), strategy)),
            );
        }
        node = if prop.get("type").and_then(Value::as_str) == Some("array") {
            prop.get("items").and_then(resolve)
        } else {
            Some(prop)
        };
    }
    Some(None)
}

fn builtin_merge_key(
    api_version: &str,
    kind: &str,
    path: &str,
) -> Option<(&'static str, &'static str)> {
    let mut def = ROOTS
        .iter()
        .find(|(a, k, _)| *a == api_version && *k == kind)?
        .2;
    let mut segs = path.trim_start_matches('/').split('/').peekable();
    while let Some(seg) = segs.next() {
        let field = FIELDS
            .binary_search_by(|(d, f, ..)| (*d, *f).cmp(&(def, seg)))
            .ok()
            .map(|i| FIELDS[i])?;
        let (_, _, child, key, strategy) = field;
        if segs.peek().is_none() {
            return (!strategy.is_empty()).then_some((key, strategy));
        }
        def = child;
    }
    None
}
