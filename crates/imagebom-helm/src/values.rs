//! Values coalescing, as Helm's `pkg/chart/common/util/coalesce.go` does it: user values over
//! chart defaults, subchart tables scoped under the subchart's name, `global` copied down into
//! every subchart, `null` deleting a default.

use imagebom_template::{Dict, Value};

use crate::chart::Chart;
use crate::error::{HelmError, Result};

const GLOBAL: &str = "global";

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn warn(msg: String) {
    tracing::warn!("{msg}");
}

/// Helm's `CoalesceValues`: a deep copy of `vals` with the chart's (and its subcharts')
/// defaults filled in; `null` in `vals` deletes a default.
pub fn coalesce_values(chart: &Chart, vals: &Dict) -> Result<Dict> {
    let copy = vals.deep_copy();
    coalesce(chart, &copy, "", false)
}

/// Helm's `MergeValues`: as [`coalesce_values`], but `null`s are kept.
pub fn merge_values(chart: &Chart, vals: &Dict) -> Result<Dict> {
    let copy = vals.deep_copy();
    coalesce(chart, &copy, "", true)
}

fn coalesce(ch: &Chart, dest: &Dict, prefix: &str, merge: bool) -> Result<Dict> {
    coalesce_chart_values(ch, dest, prefix, merge);
    coalesce_deps(ch, dest, prefix, merge)
}

fn coalesce_deps(ch: &Chart, dest: &Dict, prefix: &str, merge: bool) -> Result<Dict> {
    for sub in &ch.dependencies {
        let name = sub.name();
        match dest.get(name) {
            None => {
                dest.insert(name, Value::Map(Dict::new()));
            }
            Some(Value::Map(_)) => {}
            Some(other) => {
                return Err(HelmError::Values(format!(
                    "type mismatch on {name}: %!t({}={})",
                    go_type(&other),
                    other
                )));
            }
        }
        if let Some(Value::Map(dvmap)) = dest.get(name) {
            let sub_prefix = concat_prefix(prefix, ch.name());
            coalesce_globals(&dvmap, dest, &sub_prefix);
            let out = coalesce(sub, &dvmap, &sub_prefix, merge)?;
            dest.insert(name, Value::Map(out));
        }
    }
    Ok(dest.clone())
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Float(_) => "float64",
        Value::Int(_) => "int64",
        Value::Bool(_) => "bool",
        Value::List(_) => "[]interface {}",
        _ => "interface {}",
    }
}

fn shallow_copy(d: &Dict) -> Dict {
    Dict::from_map(d.to_map())
}

fn coalesce_globals(dest: &Dict, src: &Dict, prefix: &str) {
    let dg = match dest.get(GLOBAL) {
        None => Dict::new(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            warn(format!(
                "warning: skipping globals because destination {GLOBAL} is not a table."
            ));
            return;
        }
    };
    let sg = match src.get(GLOBAL) {
        None => Dict::new(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            warn(format!(
                "warning: skipping globals because source {GLOBAL} is not a table."
            ));
            return;
        }
    };
    for (key, val) in sg.entries() {
        if let Value::Map(vm) = &val {
            let vv = shallow_copy(vm);
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Map(vv));
                }
                Some(Value::Map(destvmap)) => {
                    let sub_prefix = concat_prefix(prefix, &key);
                    coalesce_tables_full_key(&vv, &destvmap, &sub_prefix, true);
                    dg.insert(key, Value::Map(vv));
                }
                Some(_) => warn(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            warn(format!("key {key} is table. Skipping"));
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL, Value::Map(dg));
}

fn clean_nil_values(m: &Dict) {
    for (k, v) in m.entries() {
        match v {
            Value::Nil => {
                m.remove(&k);
            }
            Value::Map(sub) => clean_nil_values(&sub),
            _ => {}
        }
    }
}

fn coalesce_chart_values(ch: &Chart, v: &Dict, prefix: &str, merge: bool) {
    let sub_prefix = concat_prefix(prefix, ch.name());
    let vc = ch.values.deep_copy();
    for (key, val) in vc.entries() {
        if let Some(value) = v.get(&key) {
            if matches!(value, Value::Nil) && !merge {
                v.remove(&key);
            } else if let Value::Map(dest) = &value {
                match &val {
                    Value::Map(src) => {
                        let merge = merge || ch.dependencies.iter().any(|d| d.name() == &*key);
                        // Helm v4.2: chart-default nulls never leak into coalesced values.
                        if !merge {
                            clean_nil_values(src);
                        }
                        coalesce_tables_full_key(
                            dest,
                            src,
                            &concat_prefix(&sub_prefix, &key),
                            merge,
                        );
                    }
                    Value::Nil => {}
                    _ => warn(format!(
                        "warning: skipped value for {sub_prefix}.{key}: Not a table."
                    )),
                }
            }
        } else {
            if !merge {
                match &val {
                    Value::Nil => continue,
                    Value::Map(sub) => clean_nil_values(sub),
                    _ => {}
                }
            }
            v.insert(key, val);
        }
    }
}

/// Helm's `CoalesceTables`: `src` under `dst` (dst wins), into `dst`.
pub fn coalesce_tables(dst: &Dict, src: &Dict) -> Dict {
    coalesce_tables_full_key(dst, src, "", false)
}

/// Helm's `MergeTables`: as [`coalesce_tables`] but `null`s are kept.
pub fn merge_tables(dst: &Dict, src: &Dict) -> Dict {
    coalesce_tables_full_key(dst, src, "", true)
}

fn coalesce_tables_full_key(dst: &Dict, src: &Dict, prefix: &str, merge: bool) -> Dict {
    // The keys null in `dst` become null in `src`; of those, the ones `src` held a non-null
    // value for are deleted from `dst` below (no other key needs `src`'s original value).
    let dst_nil: Vec<std::sync::Arc<str>> = dst
        .entries()
        .into_iter()
        .filter(|(_, v)| matches!(v, Value::Nil))
        .map(|(k, _)| k)
        .collect();
    let src_non_nil: Vec<&str> = dst_nil
        .iter()
        .filter(|k| src.get(k).is_some_and(|v| !matches!(v, Value::Nil)))
        .map(|k| &**k)
        .collect();
    for k in &dst_nil {
        src.insert(k.clone(), Value::Nil);
    }
    for (key, val) in src.entries() {
        let dv = dst.get(&key);
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&&*key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(dv) => {
                if let Value::Map(vm) = &val {
                    let fullkey = concat_prefix(prefix, &key);
                    if let Value::Map(dm) = &dv {
                        coalesce_tables_full_key(dm, vm, &fullkey, merge);
                    } else {
                        warn(format!(
                            "warning: cannot overwrite table with non table for {fullkey} ({val})"
                        ));
                    }
                } else if matches!(dv, Value::Map(_)) && !matches!(val, Value::Nil) {
                    let fullkey = concat_prefix(prefix, &key);
                    warn(format!(
                        "warning: destination for {fullkey} is a table. Ignoring non-table value ({val})"
                    ));
                }
            }
        }
    }
    dst.clone()
}

/// Helm's `Values.Table`: the map at a dotted path.
pub(crate) fn table(v: &Dict, path: &str) -> Option<Dict> {
    let mut cur = v.clone();
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Map(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: the non-table value at a dotted path.
pub(crate) fn path_value(v: &Dict, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(v, p)?, k),
        None => (v.clone(), path),
    };
    match parent.get(key) {
        Some(Value::Map(_)) | None => None,
        Some(x) => Some(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ChartFiles;
    use imagebom_template::convert::{from_yaml_str, to_json};

    fn y(text: &str) -> Dict {
        match from_yaml_str(text).unwrap() {
            Value::Map(m) => m,
            Value::Nil => Dict::new(),
            other => panic!("{other:?}"),
        }
    }

    fn chart(values: &str, subs: &[(&str, &str)]) -> Chart {
        let mut f = ChartFiles::new();
        f.insert(
            "Chart.yaml".into(),
            b"apiVersion: v2\nname: top\nversion: 1.0.0\n".to_vec(),
        );
        f.insert("values.yaml".into(), values.as_bytes().to_vec());
        for (n, v) in subs {
            f.insert(
                format!("charts/{n}/Chart.yaml"),
                format!("apiVersion: v2\nname: {n}\nversion: 1.0.0\n").into_bytes(),
            );
            f.insert(format!("charts/{n}/values.yaml"), v.as_bytes().to_vec());
        }
        Chart::from_files(f).unwrap()
    }

    fn json(d: &Dict) -> String {
        to_json(&Value::Map(d.clone())).to_string()
    }

    #[test]
    fn user_values_override_defaults_and_null_deletes() {
        let c = chart("a: 1\nb: {c: 2, d: 3}\ne: 5\n", &[]);
        let out = coalesce_values(&c, &y("a: 9\nb: {c: null}\ne: null\n")).unwrap();
        assert_eq!(json(&out), r#"{"a":9,"b":{"d":3}}"#);
    }

    #[test]
    fn subchart_scoping_and_globals() {
        let c = chart(
            "global: {reg: top, nested: {a: 1}}\nsub: {x: parent}\n",
            &[(
                "sub",
                "x: child\nz: child\nglobal: {reg: sub, own: s, nested: {b: 2}}\n",
            )],
        );
        let out = coalesce_values(&c, &Dict::new()).unwrap();
        assert_eq!(
            json(&out),
            r#"{"global":{"nested":{"a":1},"reg":"top"},"sub":{"global":{"nested":{"a":1,"b":2},"own":"s","reg":"top"},"x":"parent","z":"child"}}"#
        );
    }

    #[test]
    fn chart_default_nulls_are_dropped_and_parent_nulls_keep_subchart_defaults() {
        let c = chart("a: null\nb: {c: null, d: 1}\n", &[]);
        let out = coalesce_values(&c, &Dict::new()).unwrap();
        assert_eq!(json(&out), r#"{"b":{"d":1}}"#);
        let c = chart(
            "sub: {z: null, nested: {n1: null}}\n",
            &[("sub", "z: 3\nnested: {n1: a, n2: b}\n")],
        );
        let out = coalesce_values(&c, &Dict::new()).unwrap();
        assert_eq!(
            json(&out),
            r#"{"sub":{"global":{},"nested":{"n1":"a","n2":"b"},"z":3}}"#
        );
    }

    #[test]
    fn table_over_scalar_warns_and_keeps_user_value() {
        let c = chart("a: {b: 1}\n", &[]);
        let out = coalesce_values(&c, &y("a: scalar\n")).unwrap();
        assert_eq!(json(&out), r#"{"a":"scalar"}"#);
    }

    #[test]
    fn subchart_value_not_a_table_is_an_error() {
        let c = chart("", &[("sub", "x: 1\n")]);
        let e = coalesce_values(&c, &y("sub: 3\n")).unwrap_err();
        assert!(e.to_string().contains("type mismatch on sub"), "{e}");
    }

    #[test]
    fn paths() {
        let v = y("a: {b: {c: true}}\n");
        assert_eq!(path_value(&v, "a.b.c"), Some(Value::Bool(true)));
        assert_eq!(path_value(&v, "a.b"), None);
        assert!(table(&v, "a.b").is_some());
        assert!(table(&v, "a.x").is_none());
    }
}
