//! Sprig's dictionary functions. Maps are shared by reference as in Go: `set`,
//! `unset`, `merge` and `mergeOverwrite` change their first argument.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{err, go_type, is_empty, reg, s_arg, strval, vlist, vstr, want, want_at_least};
use crate::FuncMap;
use crate::error::Result;
use crate::value::{Dict, Value};

/// Deepest map nesting `merge`/`mergeOverwrite` walk (mergo has no limit; cycles
/// cannot occur in values built from YAML, but `set` can build them).
pub(crate) const MAX_MERGE_DEPTH: usize = 256;

/// A `map[string]interface{}` parameter; nil is a nil map.
fn map_arg(a: &[Value], i: usize) -> Result<Option<Dict>> {
    match a.get(i) {
        // A nil map (Go's zero value given for a nil argument) reads as empty, refuses writes.
        Some(Value::Map(d)) if d.is_nil_map() => Ok(None),
        Some(Value::Map(d)) => Ok(Some(d.clone())),
        None => Ok(None),
        Some(other) => Err(super::wrong_type(i, "map[string]interface {}", other)),
    }
}

fn nil_map_write() -> crate::error::TemplateError {
    err("assignment to entry in nil map")
}

/// mergo's `isEmptyValue` (dereferencing interfaces).
fn mergo_empty(v: &Value) -> bool {
    is_empty(v)
}

/// `mergo.Merge(&dst, src[, mergo.WithOverride])` for `map[string]interface{}` values,
/// as Sprig's `merge` and `mergeOverwrite` call it.
pub(crate) fn mergo(dst: &Dict, src: &Dict, overwrite: bool, depth: usize) -> Result<()> {
    if depth > MAX_MERGE_DEPTH {
        return Err(err(format!(
            "merge: maps nested deeper than the limit of {MAX_MERGE_DEPTH}"
        )));
    }
    if dst.ptr_eq(src) {
        return Ok(());
    }
    for (key, sv) in src.entries() {
        let dv = dst.get(&key);
        match &sv {
            Value::Nil => {
                if overwrite {
                    dst.insert(key, Value::Nil);
                }
                continue;
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    mergo(dm, sm, overwrite, depth + 1)?;
                }
            }
            Value::List(sl) => {
                // mergo looks at the emptiness of the parent maps here, not the elements.
                let take_src = (!src.is_empty()) && (overwrite || dst.is_empty());
                let new = if take_src {
                    Value::List(sl.clone())
                } else {
                    match &dv {
                        Some(Value::List(_)) => dv.clone().unwrap_or(Value::Nil),
                        Some(Value::Nil) | None => vlist(Vec::new()),
                        Some(other) => other.clone(),
                    }
                };
                dst.insert(key.clone(), new);
            }
            _ => {}
        }
        if let Some(d) = &dv
            && !mergo_empty(d)
        {
            if matches!(sv, Value::List(_)) {
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(d, Value::Map(_)) {
                continue;
            }
        }
        let dst_missing_or_empty = match &dv {
            None => true,
            // Maps are shared, so a map merged into above is seen with its new keys.
            Some(d) => mergo_empty(d),
        };
        if overwrite || dst_missing_or_empty {
            dst.insert(key, sv);
        }
    }
    Ok(())
}

/// `copystructure.Copy`, refusing structures deeper than [`MAX_MERGE_DEPTH`] (a map
/// that contains itself).
fn deep_copy(v: &Value, depth: usize) -> Result<Value> {
    if depth > MAX_MERGE_DEPTH {
        return Err(err(format!(
            "deepCopy: nesting deeper than the limit of {MAX_MERGE_DEPTH}"
        )));
    }
    Ok(match v {
        Value::Map(m) => {
            let d = Dict::new();
            for (k, x) in m.entries() {
                d.insert(k, deep_copy(&x, depth + 1)?);
            }
            Value::Map(d)
        }
        Value::List(l) => vlist(
            l.iter()
                .map(|x| deep_copy(x, depth + 1))
                .collect::<Result<Vec<_>>>()?,
        ),
        other => other.clone(),
    })
}

fn merge_fn(name: &'static str, overwrite: bool) -> impl Fn(&[Value]) -> Result<Value> {
    move |a: &[Value]| {
        want_at_least(name, a, 1)?;
        let dst = match map_arg(a, 0)? {
            Some(d) => d,
            None => Dict::new(),
        };
        for i in 1..a.len() {
            if let Some(src) = map_arg(a, i)? {
                mergo(&dst, &src, overwrite, 0)?;
            }
        }
        Ok(Value::Map(dst))
    }
}

fn dig(d: &Dict, keys: &[String], def: &Value) -> Result<Value> {
    let Some((k, rest)) = keys.split_first() else {
        return Ok(def.clone());
    };
    let Some(step) = d.get(k) else {
        return Ok(def.clone());
    };
    if rest.is_empty() {
        return Ok(step);
    }
    match step {
        Value::Map(m) => dig(&m, rest, def),
        Value::Nil => Err(err(
            "interface conversion: interface {} is nil, not map[string]interface {}",
        )),
        other => Err(err(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            go_type(&other)
        ))),
    }
}

pub(super) fn register(m: &mut FuncMap) {
    dict_access(m);
    dict_lookup(m);
    dict_merge(m);
}

fn dict_access(m: &mut FuncMap) {
    reg(m, "dict", |a| {
        let d = Dict::new();
        let mut i = 0;
        while i < a.len() {
            let k = strval(&a[i]);
            let v = a.get(i + 1).cloned().unwrap_or_else(|| vstr(""));
            d.insert(k, v);
            i += 2;
        }
        Ok(Value::Map(d))
    });
    reg(m, "get", |a| {
        want("get", a, 2)?;
        let k = s_arg(a, 1)?;
        Ok(map_arg(a, 0)?
            .and_then(|d| d.get(&k))
            .unwrap_or_else(|| vstr("")))
    });
    reg(m, "set", |a| {
        want("set", a, 3)?;
        let k = s_arg(a, 1)?;
        let d = map_arg(a, 0)?.ok_or_else(nil_map_write)?;
        d.insert(k, a[2].clone());
        Ok(Value::Map(d))
    });
    reg(m, "unset", |a| {
        want("unset", a, 2)?;
        let k = s_arg(a, 1)?;
        match map_arg(a, 0)? {
            Some(d) => {
                d.remove(&k);
                Ok(Value::Map(d))
            }
            None => Ok(a[0].clone()),
        }
    });
    reg(m, "hasKey", |a| {
        want("hasKey", a, 2)?;
        let k = s_arg(a, 1)?;
        Ok(Value::Bool(
            map_arg(a, 0)?.is_some_and(|d| d.contains_key(&k)),
        ))
    });
    reg(m, "pluck", |a| {
        want_at_least("pluck", a, 1)?;
        let k = s_arg(a, 0)?;
        let mut out = Vec::new();
        for i in 1..a.len() {
            if let Some(v) = map_arg(a, i)?.and_then(|d| d.get(&k)) {
                out.push(v);
            }
        }
        Ok(vlist(out))
    });
}

fn dict_lookup(m: &mut FuncMap) {
    reg(m, "dig", |a| {
        if a.len() < 3 {
            return Err(err("dig needs at least three arguments"));
        }
        let d = match &a[a.len() - 1] {
            // A named map or struct type (Helm's `.Values` is `common.Values`)
            // fails Sprig's `map[string]interface{}` type assertion.
            Value::Map(d)
                if d.go_type_name()
                    .is_none_or(|t| t == "map[string]interface {}") =>
            {
                d.clone()
            }
            other => {
                return Err(err(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    go_type(other)
                )));
            }
        };
        let def = a[a.len() - 2].clone();
        let keys = (0..a.len() - 2)
            .map(|i| match &a[i] {
                Value::String(s) => Ok(String::from(&**s)),
                other => Err(err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    go_type(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        dig(&d, &keys, &def)
    });
    reg(m, "keys", |a| {
        let mut out = Vec::new();
        for i in 0..a.len() {
            if let Some(d) = map_arg(a, i)? {
                out.extend(d.keys().into_iter().map(Value::String));
            }
        }
        Ok(Value::typed("[]string", "slice", vlist(out)))
    });
    reg(m, "values", |a| {
        want("values", a, 1)?;
        Ok(vlist(
            map_arg(a, 0)?
                .map(|d| d.entries().into_iter().map(|(_, v)| v).collect())
                .unwrap_or_default(),
        ))
    });
    reg(m, "pick", |a| {
        want_at_least("pick", a, 1)?;
        let src = map_arg(a, 0)?;
        let out = Dict::new();
        for i in 1..a.len() {
            let k = s_arg(a, i)?;
            if let Some(v) = src.as_ref().and_then(|d| d.get(&k)) {
                out.insert(k, v);
            }
        }
        Ok(Value::Map(out))
    });
}

fn dict_merge(m: &mut FuncMap) {
    reg(m, "omit", |a| {
        want_at_least("omit", a, 1)?;
        let src = map_arg(a, 0)?;
        let drop = (1..a.len())
            .map(|i| s_arg(a, i))
            .collect::<Result<Vec<_>>>()?;
        let out = Dict::new();
        if let Some(d) = src {
            for (k, v) in d.entries() {
                if !drop.iter().any(|x| **x == *k) {
                    out.insert(k, v);
                }
            }
        }
        Ok(Value::Map(out))
    });
    reg(m, "merge", merge_fn("merge", false));
    reg(m, "mustMerge", merge_fn("mustMerge", false));
    reg(m, "mergeOverwrite", merge_fn("mergeOverwrite", true));
    reg(
        m,
        "mustMergeOverwrite",
        merge_fn("mustMergeOverwrite", true),
    );
    reg(m, "deepCopy", |a| {
        want("deepCopy", a, 1)?;
        if matches!(a[0], Value::Nil) {
            return Err(err("reflect: call of reflect.Value.Type on zero Value"));
        }
        deep_copy(&a[0], 0)
    });
    reg(m, "mustDeepCopy", |a| {
        want("mustDeepCopy", a, 1)?;
        if matches!(a[0], Value::Nil) {
            return Err(err("reflect: call of reflect.Value.Type on zero Value"));
        }
        deep_copy(&a[0], 0)
    });
}
