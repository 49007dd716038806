//! Output order (`sortOptions`: `legacy`, Kustomize's default, or `fifo`) and key order.

use crate::{id, Id, KustomizeError, Object};
use serde_yaml_ng::{Mapping, Value};
use std::cmp::Ordering;
use std::path::Path;

/// Kinds the legacy order puts first, in this order.
const FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds the legacy order puts last, in this order.
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Orders `objects` as `sortOptions` asks (legacy by default).
pub(crate) fn order(
    objects: &mut [Object],
    options: Option<&Value>,
    file: &Path,
) -> Result<(), KustomizeError> {
    let order = options
        .and_then(|o| o.get("order"))
        .and_then(Value::as_str)
        .unwrap_or("legacy");
    match order {
        "fifo" => Ok(()),
        "legacy" => {
            let list = |f: &str| -> Option<Vec<String>> {
                let seq = options?.get("legacySortOptions")?.get(f)?.as_sequence()?;
                Some(
                    seq.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                )
            };
            let first =
                list("orderFirst").unwrap_or_else(|| FIRST.iter().map(|s| s.to_string()).collect());
            let last =
                list("orderLast").unwrap_or_else(|| LAST.iter().map(|s| s.to_string()).collect());
            let rank = |kind: &str| -> i64 {
                if let Some(i) = first.iter().position(|k| k == kind) {
                    return i as i64 - first.len() as i64;
                }
                last.iter()
                    .position(|k| k == kind)
                    .map_or(0, |i| 1 + i as i64)
            };
            objects.sort_by(|a, b| legacy_cmp(&id(&a.doc), &id(&b.doc), &rank));
            Ok(())
        }
        other => Err(KustomizeError::invalid(
            file,
            format!("the field 'sortOptions.order' must be one of [fifo, legacy], not {other:?}"),
        )),
    }
}

fn gvk_string(i: &Id) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&i.group, "~G"),
        or(&i.version, "~V"),
        or(&i.kind, "~K")
    )
}

fn legacy_cmp(a: &Id, b: &Id, rank: &dyn Fn(&str) -> i64) -> Ordering {
    let same_gvk = a.group == b.group && a.version == b.version && a.kind == b.kind;
    if !same_gvk {
        let (ra, rb) = (rank(&a.kind), rank(&b.kind));
        if ra != rb {
            return ra.cmp(&rb);
        }
        let (ga, gb) = (gvk_string(a), gvk_string(b));
        if a.kind == "Namespace"
            && b.kind == "Namespace"
            && (a.group.is_empty() || b.group.is_empty())
        {
            return gb.cmp(&ga);
        }
        return ga.cmp(&gb);
    }
    let key = |i: &Id| {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}|{}|{}",
            gvk_string(i),
            or(&i.namespace, "~X"),
            or(&i.name, "~N")
        )
    };
    key(a).cmp(&key(b))
}

/// A copy with every mapping's keys in byte order, as Kustomize prints them.
pub(crate) fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut items: Vec<(&Value, &Value)> = m.iter().collect();
            items.sort_by_key(|a| key_text(a.0));
            let mut out = Mapping::new();
            for (k, v) in items {
                out.insert(k.clone(), sort_keys(v));
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}
