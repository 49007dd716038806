//! Sprig's list functions (`list`, `append`, `first`, `uniq`, …) and their `must…` forms.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::convert_fns::to_int64;
use super::{err, go_kind, is_empty, vlist};
use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::function::{Function, Rest, add_fn};
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

/// Registers `f` as `name` and as its `must…` form (both return Sprig's error).
fn add_both<Args: 'static, F: Function<Args> + Clone>(
    m: &mut FuncMap,
    name: &'static str,
    must: &'static str,
    f: F,
) {
    add_fn(m, name, f.clone());
    add_fn(m, must, f);
}

pub(super) fn register(m: &mut FuncMap) {
    list_building(m);
    list_ends(m);
    list_queries(m);
}

fn list_building(m: &mut FuncMap) {
    add_fn(m, "list", |Rest(a): Rest<Value>| Ok(a));
    add_fn(m, "tuple", |Rest(a): Rest<Value>| Ok(a));
    let push = |l: Value, v: Value| {
        let mut out = list_arg(&l, "Cannot push on type")?.to_vec();
        out.push(v);
        Ok(out)
    };
    add_both(m, "append", "mustAppend", push);
    add_both(m, "push", "mustPush", push);
    add_both(m, "prepend", "mustPrepend", |l: Value, v: Value| {
        let l = list_arg(&l, "Cannot prepend on type")?;
        let mut out = Vec::with_capacity(l.len() + 1);
        out.push(v);
        out.extend(l.iter().cloned());
        Ok(out)
    });
    add_both(m, "reverse", "mustReverse", |l: Value| {
        let l = list_arg(&l, "Cannot find reverse on type")?;
        Ok(l.iter().rev().cloned().collect::<Vec<_>>())
    });
    add_both(m, "uniq", "mustUniq", |l: Value| {
        let l = list_arg(&l, "Cannot find uniq on type")?;
        let mut out: Vec<Value> = Vec::new();
        for v in l.iter() {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        Ok(out)
    });
    add_both(
        m,
        "without",
        "mustWithout",
        |l: Value, Rest(omit): Rest<Value>| {
            let l = list_arg(&l, "Cannot find without on type")?;
            Ok(l.iter()
                .filter(|v| !omit.contains(v))
                .cloned()
                .collect::<Vec<_>>())
        },
    );
}

fn list_ends(m: &mut FuncMap) {
    add_both(m, "first", "mustFirst", |l: Value| {
        let l = list_arg(&l, "Cannot find first on type")?;
        Ok(l.first().cloned().unwrap_or(Value::Nil))
    });
    add_both(m, "last", "mustLast", |l: Value| {
        let l = list_arg(&l, "Cannot find last on type")?;
        Ok(l.last().cloned().unwrap_or(Value::Nil))
    });
    add_both(m, "rest", "mustRest", |l: Value| {
        let l = list_arg(&l, "Cannot find rest on type")?;
        if l.is_empty() {
            return Ok(nil_list());
        }
        Ok(vlist(l[1..].to_vec()))
    });
    add_both(m, "initial", "mustInitial", |l: Value| {
        let l = list_arg(&l, "Cannot find initial on type")?;
        if l.is_empty() {
            return Ok(nil_list());
        }
        Ok(vlist(l[..l.len() - 1].to_vec()))
    });
}

fn list_queries(m: &mut FuncMap) {
    add_both(
        m,
        "has",
        "mustHas",
        |needle: Value, haystack: Value| match &haystack {
            Value::Nil => Ok(false),
            Value::List(l) => Ok(l.contains(&needle)),
            other => Err(err(format!("Cannot find has on type {}", go_kind(other)))),
        },
    );
    add_both(m, "compact", "mustCompact", |l: Value| {
        let l = list_arg(&l, "Cannot compact on type")?;
        Ok(l.iter()
            .filter(|v| !is_empty(v))
            .cloned()
            .collect::<Vec<_>>())
    });
    add_both(m, "slice", "mustSlice", slice);
    add_fn(m, "concat", concat);
    add_both(m, "chunk", "mustChunk", |size: i64, l: Value| {
        let l = list_arg(&l, "Cannot chunk type")?;
        if size <= 0 {
            return Err(err("chunk: size must be positive"));
        }
        Ok(l.chunks(size as usize)
            .map(|c| vlist(c.to_vec()))
            .collect::<Vec<_>>())
    });
}

/// Sprig's `slice LIST [START [END]]`.
fn slice(l: Value, Rest(indices): Rest<Value>) -> Result<Value> {
    let l = match &l {
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
    let start = indices.first().map_or(0, to_int64);
    let end = indices.get(1).map_or(l.len() as i64, to_int64);
    if start < 0 || end < start || end > l.len() as i64 {
        return Err(err(format!(
            "reflect: slice index out of range [{start}:{end}] with length {}",
            l.len()
        )));
    }
    Ok(vlist(l[start as usize..end as usize].to_vec()))
}

/// Sprig's `concat LISTS...`.
fn concat(Rest(lists): Rest<Value>) -> Result<Value> {
    let mut out = Vec::new();
    for v in &lists {
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
}
