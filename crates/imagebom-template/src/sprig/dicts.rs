//! Sprig's dictionary functions. Maps are shared by reference as in Go: `set`,
//! `unset`, `merge` and `mergeOverwrite` change their first argument.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{err, go_type, is_empty, strval, vlist, vstr};
use crate::FuncMap;
use crate::error::Result;
use crate::function::{GoMap, Rest, add_fn};
use crate::value::{Dict, Value};

/// Deepest map nesting `merge`/`mergeOverwrite` walk (mergo has no limit; cycles
/// cannot occur in values built from YAML, but `set` can build them).
pub(crate) const MAX_MERGE_DEPTH: usize = 256;

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

/// Sprig's `merge`/`mergeOverwrite DST SRCS...`.
fn merge_fn(overwrite: bool) -> impl Fn(GoMap, Rest<GoMap>) -> Result<Value> + Clone {
    move |dst: GoMap, Rest(srcs): Rest<GoMap>| {
        let dst = dst.dict().unwrap_or_default();
        for src in srcs.iter().filter_map(GoMap::dict) {
            mergo(&dst, &src, overwrite, 0)?;
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
    add_fn(m, "dict", |Rest(a): Rest<Value>| {
        let d = Dict::new();
        for pair in a.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or_else(|| vstr(""));
            d.insert(strval(&pair[0]), v);
        }
        Ok(Value::Map(d))
    });
    add_fn(m, "get", |d: GoMap, k: String| {
        Ok(d.dict().and_then(|d| d.get(&k)).unwrap_or_else(|| vstr("")))
    });
    add_fn(m, "set", |d: GoMap, k: String, v: Value| {
        let d = d.dict().ok_or_else(nil_map_write)?;
        d.insert(k, v);
        Ok(Value::Map(d))
    });
    add_fn(m, "unset", |d: GoMap, k: String| {
        if let Some(dict) = d.dict() {
            dict.remove(&k);
        }
        Ok(d.0)
    });
    add_fn(m, "hasKey", |d: GoMap, k: String| {
        Ok(d.dict().is_some_and(|d| d.contains_key(&k)))
    });
    add_fn(m, "pluck", |k: String, Rest(ds): Rest<GoMap>| {
        Ok(ds
            .iter()
            .filter_map(|d| d.dict()?.get(&k))
            .collect::<Vec<_>>())
    });
}

fn dict_lookup(m: &mut FuncMap) {
    add_fn(m, "dig", |Rest(a): Rest<Value>| {
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
        let keys = a[..a.len() - 2]
            .iter()
            .map(|k| match k {
                Value::String(s) => Ok(String::from(&**s)),
                other => Err(err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    go_type(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        dig(&d, &keys, &def)
    });
    add_fn(m, "keys", |Rest(ds): Rest<GoMap>| {
        let out = ds
            .iter()
            .filter_map(GoMap::dict)
            .flat_map(|d| d.keys())
            .map(Value::String)
            .collect::<Vec<_>>();
        Ok(Value::typed("[]string", "slice", vlist(out)))
    });
    add_fn(m, "values", |d: GoMap| {
        Ok(d.dict()
            .map(|d| d.entries().into_iter().map(|(_, v)| v).collect::<Vec<_>>())
            .unwrap_or_default())
    });
    add_fn(m, "pick", |src: GoMap, Rest(keys): Rest<String>| {
        let src = src.dict();
        let out = Dict::new();
        for k in keys {
            if let Some(v) = src.as_ref().and_then(|d| d.get(&k)) {
                out.insert(k, v);
            }
        }
        Ok(Value::Map(out))
    });
}

fn dict_merge(m: &mut FuncMap) {
    add_fn(m, "omit", |src: GoMap, Rest(drop): Rest<String>| {
        let out = Dict::new();
        if let Some(d) = src.dict() {
            for (k, v) in d.entries() {
                if !drop.iter().any(|x| **x == *k) {
                    out.insert(k, v);
                }
            }
        }
        Ok(Value::Map(out))
    });
    add_fn(m, "merge", merge_fn(false));
    add_fn(m, "mustMerge", merge_fn(false));
    add_fn(m, "mergeOverwrite", merge_fn(true));
    add_fn(m, "mustMergeOverwrite", merge_fn(true));
    for name in ["deepCopy", "mustDeepCopy"] {
        add_fn(m, name, |v: Value| {
            if matches!(v, Value::Nil) {
                return Err(err("reflect: call of reflect.Value.Type on zero Value"));
            }
            deep_copy(&v, 0)
        });
    }
}
