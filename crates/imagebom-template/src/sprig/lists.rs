//! Sprig's list functions (`list`, `append`, `first`, `uniq`, …) and their `must…` forms.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::convert_fns::to_int64;
use super::{err, go_kind, i_arg, is_empty, reg, vlist, want, want_at_least};
use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::value::Value;

fn nil_deref() -> TemplateError {
    err("runtime error: invalid memory address or nil pointer dereference")
}

/// The list argument, or Sprig's `Cannot … on type KIND` error.
fn list_arg(v: &Value, what: &str) -> Result<Arc<[Value]>> {
    match v {
        Value::List(l) => Ok(l.clone()),
        Value::Nil => Err(nil_deref()),
        other => Err(err(format!("{what} {}", go_kind(other)))),
    }
}

/// Go's nil `[]interface {}` (Sprig's `rest`, `initial` and `slice` of an empty
/// list, `concat` of empty lists): printed as `[]`, `null` in `toJson`.
fn nil_list() -> Value {
    Value::typed("[]interface {}", "slice", Value::List(Arc::from([])))
}

fn register_both(
    m: &mut FuncMap,
    name: &str,
    f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + Clone + 'static,
) {
    let must = format!("must{}{}", &name[..1].to_uppercase(), &name[1..]);
    reg(m, name, f.clone());
    reg(m, &must, f);
}

pub(super) fn register(m: &mut FuncMap) {
    list_building(m);
    list_queries(m);
}

fn list_building(m: &mut FuncMap) {
    reg(m, "list", |a| Ok(vlist(a.to_vec())));
    reg(m, "tuple", |a| Ok(vlist(a.to_vec())));
    for name in ["append", "push"] {
        register_both(m, name, move |a| {
            want(name, a, 2)?;
            let l = list_arg(&a[0], "Cannot push on type")?;
            let mut v = l.to_vec();
            v.push(a[1].clone());
            Ok(vlist(v))
        });
    }
    register_both(m, "prepend", |a| {
        want("prepend", a, 2)?;
        let l = list_arg(&a[0], "Cannot prepend on type")?;
        let mut v = Vec::with_capacity(l.len() + 1);
        v.push(a[1].clone());
        v.extend(l.iter().cloned());
        Ok(vlist(v))
    });
    register_both(m, "first", |a| {
        want("first", a, 1)?;
        let l = list_arg(&a[0], "Cannot find first on type")?;
        Ok(l.first().cloned().unwrap_or(Value::Nil))
    });
    register_both(m, "last", |a| {
        want("last", a, 1)?;
        let l = list_arg(&a[0], "Cannot find last on type")?;
        Ok(l.last().cloned().unwrap_or(Value::Nil))
    });
    register_both(m, "rest", |a| {
        want("rest", a, 1)?;
        let l = list_arg(&a[0], "Cannot find rest on type")?;
        if l.is_empty() {
            return Ok(nil_list());
        }
        Ok(vlist(l[1..].to_vec()))
    });
    register_both(m, "initial", |a| {
        want("initial", a, 1)?;
        let l = list_arg(&a[0], "Cannot find initial on type")?;
        if l.is_empty() {
            return Ok(nil_list());
        }
        Ok(vlist(l[..l.len() - 1].to_vec()))
    });
    register_both(m, "reverse", |a| {
        want("reverse", a, 1)?;
        let l = list_arg(&a[0], "Cannot find reverse on type")?;
        Ok(vlist(l.iter().rev().cloned().collect()))
    });
    register_both(m, "uniq", |a| {
        want("uniq", a, 1)?;
        let l = list_arg(&a[0], "Cannot find uniq on type")?;
        let mut out: Vec<Value> = Vec::new();
        for v in l.iter() {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        Ok(vlist(out))
    });
    register_both(m, "without", |a| {
        want_at_least("without", a, 1)?;
        let l = list_arg(&a[0], "Cannot find without on type")?;
        Ok(vlist(
            l.iter().filter(|v| !a[1..].contains(v)).cloned().collect(),
        ))
    });
}

fn list_queries(m: &mut FuncMap) {
    register_both(m, "has", |a| {
        want("has", a, 2)?;
        match &a[1] {
            Value::Nil => Ok(Value::Bool(false)),
            Value::List(l) => Ok(Value::Bool(l.contains(&a[0]))),
            other => Err(err(format!("Cannot find has on type {}", go_kind(other)))),
        }
    });
    register_both(m, "compact", |a| {
        want("compact", a, 1)?;
        let l = list_arg(&a[0], "Cannot compact on type")?;
        Ok(vlist(l.iter().filter(|v| !is_empty(v)).cloned().collect()))
    });
    register_both(m, "slice", |a| {
        want_at_least("slice", a, 1)?;
        let l = match &a[0] {
            Value::List(l) => l.clone(),
            Value::Nil => return Err(nil_deref()),
            other => {
                return Err(err(format!(
                    "list should be type of slice or array but {}",
                    go_kind(other)
                )));
            }
        };
        if l.is_empty() {
            return Ok(nil_list());
        }
        let start = a.get(1).map_or(0, to_int64);
        let end = a.get(2).map_or(l.len() as i64, to_int64);
        if start < 0 || end < start || end > l.len() as i64 {
            return Err(err(format!(
                "reflect: slice index out of range [{start}:{end}] with length {}",
                l.len()
            )));
        }
        Ok(vlist(l[start as usize..end as usize].to_vec()))
    });
    reg(m, "concat", |a| {
        let mut out = Vec::new();
        for v in a {
            match v {
                Value::List(l) => out.extend(l.iter().cloned()),
                Value::Nil => return Err(nil_deref()),
                other => {
                    return Err(err(format!(
                        "Cannot concat type {} as list",
                        go_kind(other)
                    )));
                }
            }
        }
        // Sprig appends to a nil slice: nothing appended is Go's nil.
        if out.is_empty() {
            return Ok(nil_list());
        }
        Ok(vlist(out))
    });
    register_both(m, "chunk", |a| {
        want("chunk", a, 2)?;
        let size = i_arg(a, 0)?;
        let l = list_arg(&a[1], "Cannot chunk type")?;
        if size <= 0 {
            return Err(err("chunk: size must be positive"));
        }
        Ok(vlist(
            l.chunks(size as usize).map(|c| vlist(c.to_vec())).collect(),
        ))
    });
}
