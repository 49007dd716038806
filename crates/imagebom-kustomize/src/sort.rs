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

/// A copy with every mapping's keys in the order Kustomize prints them (go-yaml's, see
/// [`key_order`]).
pub(crate) fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut items: Vec<(String, &Value, &Value)> =
                m.iter().map(|(k, v)| (key_text(k), k, v)).collect();
            items.sort_by(|a, b| key_order(&a.0, &b.0));
            let items = items.into_iter().map(|(_, k, v)| (k, v));
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

/// go-yaml v2's map key order (`keyList.Less`, which `kubectl kustomize` prints with): rune by
/// rune, letters after other characters (`NAME_LABEL` before `NAMESPACE_LABEL`, `a12` before
/// `a1b`, `"123"` before `"1e3"`), and runs of digits compared as numbers (`a2` before `a10`).
/// (go-yaml v3 puts a letter first right after a digit; v2 does not.)
pub(crate) fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if less(a, b) {
        Ordering::Less
    } else if less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn less(a: &str, b: &str) -> bool {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let digit = |c: char| c.is_ascii_digit();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::key_order;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn keys_sort_as_go_yaml_sorts_them() {
        // From kubectl kustomize's output of the shared cases (kubeflow ConfigMaps).
        assert_eq!(key_order("NAME_LABEL", "NAMESPACE_LABEL"), Less);
        assert_eq!(
            key_order("ARTIFACT_RETENTION_DAYS", "ARTIFACTS_PROXY_ENABLED"),
            Less
        );
        assert_eq!(key_order("apiVersion", "kind"), Less);
        assert_eq!(key_order("a10", "a2"), Greater);
        assert_eq!(key_order("a2", "a2b"), Less);
        // From tests/cases/printer-data: no letter-first rule after a digit (that is v3's).
        assert_eq!(key_order("a12", "a1b"), Less);
        assert_eq!(key_order("123", "1e3"), Less);
        assert_eq!(key_order("B", "a"), Less);
        assert_eq!(key_order("x", "x"), Equal);
    }
}
