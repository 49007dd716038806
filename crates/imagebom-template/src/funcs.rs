//! Built-in template functions, matching Go's `text/template` builtins.
//!
//! In Go, template functions live in a `FuncMap` and are called via
//! reflection. Here they are typed closures (`crate::function`) boxed as [`ValueFunc`]s.
//! Built-ins are registered automatically when creating a
//! [`Template`](crate::Template); custom functions can be added via
//! [`Template::func`](crate::Template::func).
//!
//! # Built-in function reference
//!
//! | Category | Functions |
//! |----------|-----------|
//! | Comparison | `eq`, `ne`, `lt`, `le`, `gt`, `ge` |
//! | Logic | `and`, `or`, `not` |
//! | Output | `print`, `printf`, `println` |
//! | Data | `len`, `index`, `slice`, `call` |
//! | Escaping | `html`, `js`, `urlquery` |
//!
//! # Escape-function security notes
//!
//! The escape builtins match Go's `text/template` exactly, which is **not**
//! enough for all HTML/JS contexts:
//!
//! - `html` does **not** escape backticks and is only safe inside
//!   double-quoted attribute values or text nodes. Never use it in unquoted
//!   attributes, `<script>` blocks, or inline event handlers.
//! - `js` escapes the JS string-literal metacharacters plus `<`, `>`, `&`,
//!   `=`, control chars, and U+2028 / U+2029 — but produces output suitable
//!   for embedding inside a JS string literal, not arbitrary JS contexts.
//! - `urlquery` percent-encodes for query strings (form-encoded: space → `+`)
//!   and is not a replacement for full URL-construction logic when building
//!   paths.
//!
//! For context-aware escaping use a dedicated `html/template`-style crate.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::error::{Result, TemplateError};
use crate::function::{Rest, add_fn};
use crate::go;
use crate::value::{Value, ValueFunc};

/// Returns a [`BTreeMap`] containing all built-in template functions.
///
/// Called automatically by [`Template::new`](crate::Template::new); extend the
/// result with [`Template::func`](crate::Template::func) for custom functions.
/// The builtins map shared by every [`Template`](crate::Template): `Template::new`
/// clones this `Arc`; registering functions copies the map once (`Arc::make_mut`)
/// but keeps the builtin function pointers, which lets the executor recognise
/// a builtin that was not replaced.
pub(crate) fn shared_builtins() -> Arc<BTreeMap<String, ValueFunc>> {
    use std::sync::LazyLock;
    static BUILTINS: LazyLock<Arc<BTreeMap<String, ValueFunc>>> =
        LazyLock::new(|| Arc::new(builtins()));
    BUILTINS.clone()
}

/// The builtin function called `name`, if there is one.
pub(crate) fn builtin_ptr(name: &str) -> Option<ValueFunc> {
    shared_builtins().get(name).cloned()
}

pub fn builtins() -> BTreeMap<String, ValueFunc> {
    let mut m: BTreeMap<String, ValueFunc> = BTreeMap::new();
    comparisons(&mut m);
    logic_and_printing(&mut m);
    indexing_and_escapers(&mut m);

    m
}

fn comparisons(m: &mut BTreeMap<String, ValueFunc>) {
    // Go's eq can take 2+ args: eq x y z means x==y || x==z
    add_fn(m, "eq", |first: Value, Rest(rest): Rest<Value>| {
        if rest.is_empty() {
            return Err(TemplateError::Exec(
                "missing argument for comparison".into(),
            ));
        }
        for arg in &rest {
            if compare_eq(&first, arg)? {
                return Ok(true);
            }
        }
        Ok(false)
    });
    add_fn(m, "ne", |a: Value, b: Value| Ok(!compare_eq(&a, &b)?));
    add_fn(m, "lt", |a: Value, b: Value| go_lt(&a, &b));
    add_fn(m, "le", |a: Value, b: Value| go_le(&a, &b));
    add_fn(m, "gt", |a: Value, b: Value| Ok(!go_le(&a, &b)?));
    add_fn(m, "ge", |a: Value, b: Value| Ok(!go_lt(&a, &b)?));
}

fn logic_and_printing(m: &mut BTreeMap<String, ValueFunc>) {
    // and/or are special-cased in the executor for short-circuit evaluation;
    // these are the fallbacks for pre-evaluated arguments.
    // and: the first falsy argument, or the last; or: the first truthy one, or the last.
    add_fn(m, "and", |first: Value, Rest(rest): Rest<Value>| {
        Ok(core::iter::once(&first)
            .chain(&rest)
            .find(|a| !a.is_truthy())
            .or(rest.last())
            .unwrap_or(&first)
            .clone())
    });
    add_fn(m, "or", |first: Value, Rest(rest): Rest<Value>| {
        Ok(core::iter::once(&first)
            .chain(&rest)
            .find(|a| a.is_truthy())
            .or(rest.last())
            .unwrap_or(&first)
            .clone())
    });
    add_fn(m, "not", |v: Value| Ok(!v.is_truthy()));
    add_fn(m, "print", |Rest(a): Rest<Value>| Ok(join_print(&a, false)));
    add_fn(m, "println", |Rest(a): Rest<Value>| {
        Ok(join_print(&a, true))
    });
    add_fn(m, "printf", |format: Value, Rest(args): Rest<Value>| {
        let Value::String(fmt_str) = &format else {
            return Err(TemplateError::Exec(format!(
                "printf: first arg must be string, got {format}"
            )));
        };
        go::sprintf(fmt_str, &args)
    });
}

fn indexing_and_escapers(m: &mut BTreeMap<String, ValueFunc>) {
    add_fn(m, "len", |v: Value| match &v {
        Value::Nil => Err(TemplateError::NilPointer("len")),
        v => match v.len() {
            Some(n) => Ok(n as i64),
            None => Err(TemplateError::Exec(format!(
                "len of type {}",
                v.type_name()
            ))),
        },
    });
    add_fn(m, "index", |v: Value, Rest(i): Rest<Value>| {
        go_index(&v, &i)
    });
    add_fn(m, "slice", |v: Value, Rest(i): Rest<Value>| {
        go_slice(&v, &i)
    });
    // call: invoke a function-typed value
    add_fn(m, "call", |f: Value, Rest(args): Rest<Value>| match &f {
        Value::Function(f) => f(&args),
        Value::Nil => Err(TemplateError::Exec("call of nil".into())),
        other => Err(TemplateError::Exec(format!(
            "non-function of type {}",
            other.type_name()
        ))),
    });
    add_fn(m, "html", |Rest(a): Rest<Value>| {
        Ok(go::html_escape(&escaper_args(&a)))
    });
    add_fn(m, "js", |Rest(a): Rest<Value>| {
        Ok(go::js_escape(&escaper_args(&a)))
    });
    add_fn(m, "urlquery", |Rest(a): Rest<Value>| {
        Ok(go::url_encode(&escaper_args(&a)))
    });
}

/// Body shared by the `print` and `println` builtins. When `as_println` is
/// true, args are always space-separated and a trailing newline is appended;
/// otherwise spaces follow Go's [`go::needs_space`] rule.
fn join_print(args: &[Value], as_println: bool) -> Arc<str> {
    if !as_println {
        return Arc::from(go::sprint(args));
    }
    let mut result = String::with_capacity(args.len() * 8);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            result.push(' ');
        }
        write!(result, "{}", arg).ok();
    }
    result.push('\n');
    Arc::from(result)
}

/// Stringify a value the way Go's `evalArgs` does for `html` / `js` /
/// `urlquery`: nil renders as `<no value>` (the template engine's missing-
/// value sentinel), not `<nil>` (which is what `fmt.Sprint(nil)` gives).
///
/// Returns `Cow` so the `Value::String` case — the typical input — borrows
/// instead of cloning.
/// Go's `evalArgs` for `html`/`js`/`urlquery`: one string is used as is; otherwise
/// `fmt.Sprint` of the arguments, nil printing as `<no value>`.
fn escaper_args(args: &[Value]) -> Cow<'_, str> {
    if let [Value::String(s)] = args {
        return Cow::Borrowed(s.as_ref());
    }
    if let [one] = args {
        return stringify_for_escaper(one);
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::from("<no value>"),
            other => other.clone(),
        })
        .collect();
    Cow::Owned(go::sprint(&printable))
}

fn stringify_for_escaper(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Nil => Cow::Borrowed("<no value>"),
        Value::String(s) => Cow::Borrowed(s.as_ref()),
        _ => Cow::Owned(format!("{}", v)),
    }
}

/// Go's `basicKind` classes for comparison.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    String,
    /// Anything else: maps, lists, functions, nil.
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

fn bad_comparison() -> TemplateError {
    TemplateError::Exec("incompatible types for comparison".into())
}

fn bad_comparison_type() -> TemplateError {
    TemplateError::Exec("invalid type for comparison".into())
}

/// Go's `eq` for one pair (text/template/funcs.go).
fn compare_eq(a: &Value, b: &Value) -> Result<bool> {
    use crate::exec::complex_parts;
    match (complex_parts(a), complex_parts(b)) {
        (Some(x), Some(y)) => return Ok(x == y),
        (Some(_), None) | (None, Some(_))
            if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) =>
        {
            return Err(bad_comparison());
        }
        _ => {}
    }
    let (k1, k2) = (kind(a), kind(b));
    if k1 != k2 {
        return match (a, b) {
            (Value::Int(x), Value::Uint(y)) => Ok(*x >= 0 && *x as u64 == *y),
            (Value::Uint(x), Value::Int(y)) => Ok(*y >= 0 && *x == *y as u64),
            (Value::Nil, _) | (_, Value::Nil) => Ok(false),
            _ => Err(bad_comparison()),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::Nil, _) | (_, Value::Nil) => false,
        _ => {
            // Go formats these with %s: elements print as %!s(float64=1).
            let pct_s = |v: &Value| {
                let mut o = String::new();
                go::write_elementwise(&mut o, v, 's', 0);
                o
            };
            if core::mem::discriminant(a) != core::mem::discriminant(b) {
                return Err(TemplateError::Exec(format!(
                    "non-comparable types {}: {}, {}: {}",
                    pct_s(a),
                    a.type_name(),
                    b.type_name(),
                    pct_s(b)
                )));
            }
            return Err(TemplateError::Exec(format!(
                "non-comparable type {}: {}",
                pct_s(b),
                b.type_name()
            )));
        }
    })
}

/// Go's `lt`.
fn go_lt(a: &Value, b: &Value) -> Result<bool> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 == Kind::Other || k2 == Kind::Other {
        return Err(bad_comparison_type());
    }
    if k1 != k2 {
        return match (a, b) {
            (Value::Int(x), Value::Uint(y)) => Ok(*x < 0 || (*x as u64) < *y),
            (Value::Uint(x), Value::Int(y)) => Ok(*y >= 0 && *x < *y as u64),
            _ => Err(bad_comparison()),
        };
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Uint(x), Value::Uint(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        _ => Err(bad_comparison_type()),
    }
}

/// Go's `le`: `lt` or `eq`.
fn go_le(a: &Value, b: &Value) -> Result<bool> {
    if go_lt(a, b)? {
        return Ok(true);
    }
    compare_eq(a, b)
}

/// Go's `indexArg`.
fn index_arg(index: &Value, cap: usize) -> Result<usize> {
    let x: i128 = match index {
        Value::Int(i) => *i as i128,
        Value::Uint(u) => *u as i128,
        Value::Nil => {
            return Err(TemplateError::Exec(
                "cannot index slice/array with nil".into(),
            ));
        }
        other => {
            return Err(TemplateError::Exec(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(TemplateError::IndexOutOfRange { index: x });
    }
    Ok(x as usize)
}

/// Go's `index` builtin.
fn go_index(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Nil) {
        return Err(TemplateError::Exec("index of untyped nil".into()));
    }
    let mut item = item.clone();
    for index in indexes {
        item = match &item {
            Value::Nil => return Err(TemplateError::NilPointer("index")),
            Value::List(l) => {
                let x = index_arg(index, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(TemplateError::Exec(
                            "reflect: slice index out of range".into(),
                        ));
                    }
                }
            }
            Value::String(s) => {
                let x = index_arg(index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => {
                        return Err(TemplateError::Exec(
                            "reflect: string index out of range".into(),
                        ));
                    }
                }
            }
            Value::Map(m) => match index {
                Value::String(k) => m.get(k).unwrap_or(Value::Nil),
                Value::Nil => {
                    return Err(TemplateError::Exec(
                        "value is nil; should be of type string".into(),
                    ));
                }
                other => {
                    return Err(TemplateError::Exec(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            other => {
                return Err(TemplateError::Exec(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

/// Go's `slice` builtin.
fn go_slice(item: &Value, indexes: &[Value]) -> Result<Value> {
    if matches!(item, Value::Nil) {
        return Err(TemplateError::Exec("slice of untyped nil".into()));
    }
    if indexes.len() > 3 {
        return Err(TemplateError::Exec(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err(TemplateError::Exec("cannot 3-index slice a string".into()));
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => {
            return Err(TemplateError::Exec(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(TemplateError::Exec(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(TemplateError::Exec(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    match item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Ok(Value::String(Arc::from(sub))),
            // Go slices bytes; a cut inside a UTF-8 sequence keeps the raw bytes.
            None => Ok(Value::String(Arc::from(
                String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).as_ref(),
            ))),
        },
        Value::List(l) => Ok(Value::List(Arc::from(&l[idx[0]..idx[1]]))),
        _ => Ok(Value::Nil),
    }
}
