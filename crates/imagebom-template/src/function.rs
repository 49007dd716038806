//! Typed template functions: a Rust closure `Fn(A, B, …) -> Result<R>` becomes a
//! [`ValueFunc`] that checks its arguments as Go's reflection-based call does
//! before running (`wrong number of args for NAME: want N got M`,
//! `wrong type for value; expected T; got U`), so a function body sees its
//! parameters already converted.
//!
//! - A parameter type implements [`FromArg`]: [`Value`] (Go's `interface{}`),
//!   `String`, `i64` (Go's `int`), `bool`, `f64`, [`GoMap`] (`map[string]interface{}`).
//! - A last parameter [`Rest<T>`] takes the variadic tail (`...T`).
//! - The result implements [`IntoValue`].

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::value::{Dict, Value, ValueFunc};

/// A parameter type: how argument `index` (0-based) converts from a [`Value`],
/// with Go's type-check error when it does not.
pub(crate) trait FromArg: Sized {
    /// Converts argument number `index`.
    fn from_arg(v: &Value, index: usize) -> Result<Self>;
}

/// A function's result type.
pub(crate) trait IntoValue {
    /// The template value.
    fn into_value(self) -> Value;
}

/// The variadic tail of a function's parameters (Go's `...T`).
pub(crate) struct Rest<T>(pub Vec<T>);

/// Go's type-check failure of argument `index` for a parameter of type
/// `expected` (`validateType`). A nil given for a type that cannot be nil is
/// Go's `invalid value; expected T`, which the executor words `got interface {}`
/// where the nil was held in an interface (a missing or null key); for a map or
/// slice the nil is `got interface {}` here, which the executor turns into the
/// type's nil value where Go does.
pub(crate) fn wrong_type(index: usize, expected: &str, v: &Value) -> TemplateError {
    let message = match v {
        Value::Nil if !can_be_nil(expected) => alloc::format!("invalid value; expected {expected}"),
        Value::Nil => {
            alloc::format!("wrong type for value; expected {expected}; got interface {{}}")
        }
        other => alloc::format!(
            "wrong type for value; expected {expected}; got {}",
            crate::go::type_name(other)
        ),
    };
    TemplateError::BadArg { index, message }
}

/// Go's `canBeNil` for the parameter types functions declare.
fn can_be_nil(go_type: &str) -> bool {
    ["map[", "[]", "*", "interface", "func"]
        .iter()
        .any(|p| go_type.starts_with(p))
}

/// A `map[string]interface{}` parameter as given: a map, possibly Go's nil map
/// (a nil interface is Go's type error, `got interface {}`).
#[derive(Clone)]
pub(crate) struct GoMap(pub Value);

impl GoMap {
    /// The map to read or write; `None` for a nil map.
    pub(crate) fn dict(&self) -> Option<Dict> {
        match &self.0 {
            Value::Map(d) if !d.is_nil_map() => Some(d.clone()),
            _ => None,
        }
    }
}

impl FromArg for GoMap {
    fn from_arg(v: &Value, index: usize) -> Result<Self> {
        match v {
            Value::Map(_) => Ok(GoMap(v.clone())),
            other => Err(wrong_type(index, "map[string]interface {}", other)),
        }
    }
}

impl FromArg for Value {
    fn from_arg(v: &Value, _: usize) -> Result<Self> {
        Ok(v.clone())
    }
}

impl FromArg for String {
    fn from_arg(v: &Value, index: usize) -> Result<Self> {
        match v {
            Value::String(s) => Ok(s.to_string()),
            other => Err(wrong_type(index, "string", other)),
        }
    }
}

impl FromArg for i64 {
    fn from_arg(v: &Value, index: usize) -> Result<Self> {
        match v {
            Value::Int(n) => Ok(*n),
            Value::Uint(n) => {
                i64::try_from(*n).map_err(|_| TemplateError::Exec("integer overflow".into()))
            }
            other => Err(wrong_type(index, "int", other)),
        }
    }
}

impl FromArg for bool {
    fn from_arg(v: &Value, index: usize) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => Err(wrong_type(index, "bool", other)),
        }
    }
}

impl FromArg for f64 {
    fn from_arg(v: &Value, index: usize) -> Result<Self> {
        match v {
            Value::Float(f) => Ok(*f),
            other => Err(wrong_type(index, "float64", other)),
        }
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self.into())
    }
}

impl IntoValue for Arc<str> {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Int(self)
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl IntoValue for Vec<Value> {
    fn into_value(self) -> Value {
        Value::List(self.into())
    }
}

/// A closure of 0–6 parameters callable as a template function; `Args` tells the parameter
/// shapes apart (a tuple, or [`Variadic`] for a [`Rest`] tail).
pub(crate) trait Function<Args>: Send + Sync + 'static {
    /// Checks and converts `args`, then runs the function.
    fn invoke(&self, name: &str, args: &[Value]) -> Result<Value>;
}

/// The `Args` marker of a function whose fixed parameters `P` end in `Rest<T>`.
pub(crate) struct Variadic<P, T>(core::marker::PhantomData<(P, T)>);

/// Go's arity error (`reflect`'s call check in `text/template`).
fn arity(name: &str, at_least: bool, want: usize, got: usize) -> TemplateError {
    TemplateError::ArgCount {
        name: name.into(),
        at_least,
        expected: want,
        got,
    }
}

macro_rules! impl_function {
    ($n:literal; $($a:ident $i:tt),*) => {
        impl<F, R, $($a,)*> Function<($($a,)*)> for F
        where
            F: Fn($($a),*) -> Result<R> + Send + Sync + 'static,
            R: IntoValue,
            $($a: FromArg,)*
        {
            #[allow(unused_variables)]
            fn invoke(&self, name: &str, args: &[Value]) -> Result<Value> {
                if args.len() != $n {
                    return Err(arity(name, false, $n, args.len()));
                }
                self($($a::from_arg(&args[$i], $i)?),*).map(IntoValue::into_value)
            }
        }

        impl<F, R, T, $($a,)*> Function<Variadic<($($a,)*), T>> for F
        where
            F: Fn($($a,)* Rest<T>) -> Result<R> + Send + Sync + 'static,
            R: IntoValue,
            T: FromArg,
            $($a: FromArg,)*
        {
            #[allow(unused_comparisons)]
            fn invoke(&self, name: &str, args: &[Value]) -> Result<Value> {
                if args.len() < $n {
                    return Err(arity(name, true, $n, args.len()));
                }
                let rest = args[$n..]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| T::from_arg(v, $n + i))
                    .collect::<Result<Vec<T>>>()?;
                self($($a::from_arg(&args[$i], $i)?,)* Rest(rest)).map(IntoValue::into_value)
            }
        }
    };
}

impl_function!(0;);
impl_function!(1; A 0);
impl_function!(2; A 0, B 1);
impl_function!(3; A 0, B 1, C 2);
impl_function!(4; A 0, B 1, C 2, D 3);
impl_function!(5; A 0, B 1, C 2, D 3, E 4);
impl_function!(6; A 0, B 1, C 2, D 3, E 4, G 5);

/// The [`ValueFunc`] of a typed function named `name` (the name its errors give).
pub(crate) fn typed<Args: 'static>(name: &'static str, f: impl Function<Args>) -> ValueFunc {
    Arc::new(move |args: &[Value]| f.invoke(name, args))
}

/// Registers a typed function under `name`.
pub(crate) fn add_fn<Args: 'static>(m: &mut FuncMap, name: &'static str, f: impl Function<Args>) {
    m.insert(name.into(), typed(name, f));
}

/// What a function that needs the execution sees (as minijinja's `State`): the template
/// set and the templates being run, with their call depth and limits. `include` and `tpl`
/// are such functions ([`StateFunc`]); the executor hands them the state of the call.
pub(crate) struct State<'s, 'a> {
    pub(crate) ex: &'s mut crate::exec::Executor<'a>,
}

/// A function called with the execution's [`State`]. Go checks its argument count before
/// evaluating the arguments (`arity`: the minimum, and the maximum if not variadic), and the
/// types as for any function ([`FromArg`]).
pub(crate) struct StateFunc {
    /// Argument count: `(min, Some(max))`, or `(min, None)` for a variadic one.
    pub(crate) arity: (usize, Option<usize>),
    /// The function.
    pub(crate) call: fn(&mut State<'_, '_>, &[Value]) -> Result<Value>,
}

/// Helm's `include NAME DATA`: the named template's output, as a string.
fn include(st: &mut State<'_, '_>, args: &[Value]) -> Result<Value> {
    let name = String::from_arg(&args[0], 0)?;
    st.include(&name, &args[1])
}

/// Helm's `tpl TEXT DATA`: TEXT executed as a template of the current set.
fn tpl(st: &mut State<'_, '_>, args: &[Value]) -> Result<Value> {
    let text = String::from_arg(&args[0], 0)?;
    st.tpl(&text, &args[1])
}

/// The functions that see the execution's state, by name (every template set has them).
pub(crate) fn state_func(name: &str) -> Option<&'static StateFunc> {
    static INCLUDE: StateFunc = StateFunc {
        arity: (2, Some(2)),
        call: include,
    };
    static TPL: StateFunc = StateFunc {
        arity: (2, Some(2)),
        call: tpl,
    };
    match name {
        "include" => Some(&INCLUDE),
        "tpl" => Some(&TPL),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: &ValueFunc, args: &[Value]) -> core::result::Result<Value, String> {
        f(args).map_err(|e| e.function_message())
    }

    #[test]
    fn arity_and_types_are_checked_with_gos_words() {
        let f = typed("cat2", |a: String, b: i64| Ok(alloc::format!("{a}{b}")));
        assert_eq!(
            call(&f, &[Value::String("x".into()), Value::Int(2)]),
            Ok(Value::String("x2".into()))
        );
        assert_eq!(
            call(&f, &[Value::Int(1)]),
            Err("wrong number of args for cat2: want 2 got 1".into())
        );
        assert_eq!(
            call(&f, &[Value::Int(1), Value::Int(2)]),
            Err("wrong type for value; expected string; got int".into())
        );
        match f(&[Value::String("x".into()), Value::Nil]) {
            Err(TemplateError::BadArg { index: 1, message }) => {
                assert_eq!(message, "invalid value; expected int")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn variadic_tail() {
        let f = typed("join", |sep: String, Rest(parts): Rest<String>| {
            Ok(parts.join(&sep))
        });
        let s = |x: &str| Value::String(x.into());
        assert_eq!(call(&f, &[s("-"), s("a"), s("b")]), Ok(s("a-b")));
        assert_eq!(call(&f, &[s("-")]), Ok(s("")));
        assert_eq!(
            call(&f, &[]),
            Err("wrong number of args for join: want at least 1 got 0".into())
        );
        match f(&[s("-"), s("a"), Value::Int(3)]) {
            Err(TemplateError::BadArg { index: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
