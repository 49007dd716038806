//! Dynamic value system for template data.
//!
//! Go's template engine inspects arbitrary types at runtime through
//! reflection. Rust has no such reflection, so data is carried through the
//! engine as a [`Value`] enum, similar in spirit to `serde_json::Value`.
//!
//! The [`ToValue`](crate::ToValue) trait converts Rust types into [`Value`]s,
//! and the [`tmap!`](crate::tmap) macro builds data maps.
//!
//! # Examples
//!
//! ```
//! use imagebom_template::{tmap, ToValue};
//!
//! let data = tmap! {
//!     "Name" => "Alice",
//!     "Age" => 30i64,
//!     "Tags" => vec!["admin".to_string(), "user".to_string()],
//! };
//! ```

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::error::Result;

/// Alias for a callable function stored inside [`Value::Function`].
///
/// Wrapped in `Arc` so that [`Value`] remains [`Clone`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use imagebom_template::{Value, ValueFunc};
///
/// let add: ValueFunc = Arc::new(|args| {
///     let sum: i64 = args.iter().filter_map(|a| a.as_int()).sum();
///     Ok(Value::Int(sum))
/// });
///
/// let result = add(&[Value::Int(2), Value::Int(3)]).unwrap();
/// assert_eq!(result, Value::Int(5));
/// ```
pub type ValueFunc = Arc<dyn Fn(&[Value]) -> Result<Value> + Send + Sync>;

/// The dynamic type for template data.
///
/// Dot, variables, function arguments, and pipeline results are all carried
/// as a `Value`. Plays the role that `reflect.Value` plays in Go's template
/// engine.
///
/// # Truthiness
///
/// [`Value::is_truthy`] follows Go's semantics:
///
/// | Value | Truthy? |
/// |-------|---------|
/// | `Nil` | `false` |
/// | `Bool(false)` | `false` |
/// | `Int(0)` | `false` |
/// | `Uint(0)` | `false` |
/// | `Float(0.0)` | `false` |
/// | `String("")` | `false` |
/// | Empty `List` or `Map` | `false` |
/// | Everything else | `true` |
///
/// # Display
///
/// The [`Display`](fmt::Display) implementation matches Go's default formatting:
/// - `Nil` → `<nil>`
/// - `List` → `[a b c]`
/// - `Map` → `map[k1:v1 k2:v2]`
/// - `Function` → `<func>`
pub enum Value {
    /// The nil value, represents absence of data.
    Nil,
    /// A boolean value.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit unsigned integer.
    ///
    /// Produced by [`ToValue`] for every unsigned Rust integer type
    /// (`u8`/`u16`/`u32`/`u64`/`usize`), mirroring Go's distinct unsigned
    /// reflect kinds. Kept separate from [`Value::Int`] so values above
    /// `i64::MAX` (e.g. `u64::MAX`) render and compare as their true unsigned
    /// value instead of wrapping to a negative `i64`.
    Uint(u64),
    /// A 64-bit floating-point number.
    Float(f64),
    /// A UTF-8 string.
    String(Arc<str>),
    /// An ordered list of values.
    ///
    /// Uses [`Arc<[Value]>`] for cheap cloning and single-allocation storage.
    List(Arc<[Value]>),
    /// A sorted string-keyed map of values.
    ///
    /// Uses [`BTreeMap`] with [`Arc<str>`] keys to ensure deterministic
    /// iteration order (matching Go's sorted map key iteration in templates)
    /// and to let `{{range}}` over a map refcount-bump the key into
    /// [`Value::String`] instead of allocating.
    Map(Dict),
    /// A callable function value, invoked via the `call` builtin.
    ///
    /// See [`ValueFunc`] for the expected signature.
    Function(ValueFunc),

    /// A value of a named Go type that the other variants cannot tell apart
    /// (`int64` from Sprig's math, `[]string`, `[]uint8`…). It behaves exactly
    /// as [`Typed::value`] (printing, comparisons, `len`, `index`, `range`,
    /// truthiness, serialisation; functions receive the plain value), except
    /// where Go shows the type: `typeOf`, `kindOf`, `typeIs`, `printf "%T"`.
    /// A `[]uint8` is held as its text (a [`Value::String`]: `len` counts bytes,
    /// `toString` gives the text) and printed as Go prints a byte slice.
    ///
    /// Known difference: as functions get the plain value, Go's rejection of a
    /// named type for another parameter type (an `int64` given to an `int`
    /// parameter: `wrong type for value; expected int; got int64`) is not
    /// reproduced. A Go struct is better carried as a [`Dict`] with
    /// [`Dict::with_type_name`] (and methods): parameter checks then see it.
    Typed(Arc<Typed>),
}

/// The content of [`Value::Typed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    /// The Go type name (`int64`, `[]string`, `[]uint8`).
    pub go_type: &'static str,
    /// Its `reflect.Kind` name (`int64`, `slice`).
    pub kind: &'static str,
    /// The value it behaves as.
    pub value: Value,
    /// Methods of the named type, reached by a field name (Helm's `VersionSet.Has`).
    pub methods: Option<Arc<Methods>>,
}

/// The methods of a [`Typed`] value, by name (compared by name only).
#[derive(Clone, Default)]
pub struct Methods(pub BTreeMap<String, ValueFunc>);

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl PartialEq for Methods {
    fn eq(&self, other: &Methods) -> bool {
        self.0.keys().eq(other.0.keys())
    }
}

impl Typed {
    /// The method called `name`, if the type has one.
    pub fn method(&self, name: &str) -> Option<ValueFunc> {
        self.methods.as_ref().and_then(|m| m.0.get(name).cloned())
    }

    /// The value Go's `encoding/json` (and so `toJson`/`toYaml`) sees: a
    /// `[]uint8` is base64 text, an empty `[]interface {}` held as a typed
    /// value is a nil slice (`null`; a plain empty list is `[]`), anything else
    /// its value.
    pub(crate) fn json_value(&self) -> Value {
        match (&self.value, self.go_type) {
            (Value::String(s), "[]uint8") => {
                Value::String(Arc::from(data_encoding::BASE64.encode(s.as_bytes())))
            }
            (Value::List(l), "[]interface {}") if l.is_empty() => Value::Nil,
            (v, _) => v.clone(),
        }
    }

    /// A `[]uint8` as the list of its bytes (how `%v` and `%d` print it).
    pub(crate) fn byte_list(&self) -> Option<Value> {
        match (&self.value, self.go_type) {
            (Value::String(s), "[]uint8") => Some(Value::List(
                s.bytes().map(|b| Value::Int(i64::from(b))).collect(),
            )),
            _ => None,
        }
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(n) => Value::Int(*n),
            Value::Uint(n) => Value::Uint(*n),
            Value::Float(f) => Value::Float(*f),
            Value::String(s) => Value::String(Arc::clone(s)),
            Value::List(v) => Value::List(Arc::clone(v)),
            Value::Map(m) => Value::Map(m.clone()),
            Value::Function(f) => Value::Function(Arc::clone(f)),
            Value::Typed(t) => Value::Typed(Arc::clone(t)),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b:?})"),
            Value::Int(n) => write!(f, "Int({n:?})"),
            Value::Uint(n) => write!(f, "Uint({n:?})"),
            Value::Float(v) => write!(f, "Float({v:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(v) => nested(|deep| match deep {
                true => f.write_str("List(...)"),
                false => write!(f, "List({v:?})"),
            }),
            Value::Map(m) => write!(f, "Map({m:?})"),
            Value::Function(_) => write!(f, "Function(...)"),
            Value::Typed(t) => write!(f, "Typed({}, {:?})", t.go_type, t.value),
        }
    }
}

impl Value {
    /// Returns whether this value is "truthy" according to Go's template semantics.
    ///
    /// See the [type-level docs](Value) for the full truthiness table.
    pub(crate) fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Uint(n) => *n != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(v) => !v.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Function(_) => true,
            Value::Typed(t) => t.value.is_truthy(),
        }
    }

    /// Look up a field by name on a [`Value::Map`].
    ///
    /// Returns `Some(&value)` when the key exists (the value may itself be
    /// [`Value::Nil`]), and `None` when the key is absent or the receiver is
    /// not a map. This lets callers distinguish "key set to nil" from
    /// "key missing", which matters for the `missingkey=error` option.
    ///
    /// In Go, the equivalent lookup uses reflection on struct fields or map
    /// keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::tmap;
    /// use imagebom_template::Value;
    ///
    /// let data = tmap! { "Name" => "Alice", "Empty" => Value::Nil };
    /// assert_eq!(data.field("Name"), Some(Value::String("Alice".into())));
    /// assert_eq!(data.field("Empty"), Some(Value::Nil));   // key exists
    /// assert_eq!(data.field("Missing"), None);               // key absent
    /// assert_eq!(Value::Int(1).field("x"), None);            // not a map
    /// ```
    pub fn field(&self, name: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    /// Index into a [`Value::List`] (by integer), [`Value::Map`] (by string),
    /// or [`Value::String`] (by integer, returning the raw byte).
    ///
    /// Mirrors Go's `index` builtin semantics:
    /// - **List + Int**: returns the element, or an error if out of bounds.
    /// - **Map + String**: returns the value, or [`Value::Nil`] for missing keys.
    /// - **String + Int**: returns the byte at that offset as a [`Value::Int`]
    ///   (Go indexes strings as `[]byte`; mid-codepoint offsets are valid).
    /// - **Nil + anything**: returns an error (`index of untyped nil`).
    /// - **Other combinations**: returns an error (type mismatch).
    ///
    /// # Errors
    ///
    /// Returns an error on out-of-bounds list access, indexing with an
    /// incompatible key type, or indexing a non-indexable value.
    pub fn index(&self, idx: &Value) -> Result<Value> {
        if let Value::Typed(t) = self {
            return t.value.index(idx.untyped());
        }
        let idx = idx.untyped();
        // Resolve an integer index (signed or unsigned) to a usize offset,
        // bounds-checking against `len`. A `Value::Uint` above `i64::MAX`
        // wraps to a negative `i64` here and fails the lower-bound check —
        // correct, since it can never be a valid offset.
        fn check_bounds(idx: &Value, len: usize) -> Result<usize> {
            let i = match idx {
                Value::Int(i) => *i,
                Value::Uint(i) => *i as i64,
                #[allow(
                    clippy::unreachable,
                    reason = "callers guard with a Value::Int | Value::Uint pattern"
                )]
                _ => unreachable!(),
            };
            if i < 0 || (i as usize) >= len {
                Err(crate::error::TemplateError::IndexOutOfRange { index: i.into() })
            } else {
                Ok(i as usize)
            }
        }
        fn bad_index(kind: &str, idx: &Value) -> crate::error::TemplateError {
            crate::error::TemplateError::Exec(format!(
                "cannot index {} with type {}",
                kind,
                idx.type_name()
            ))
        }
        match (self, idx) {
            (Value::List(v), Value::Int(_) | Value::Uint(_)) => {
                Ok(v[check_bounds(idx, v.len())?].clone())
            }
            (Value::List(_), _) => Err(bad_index("list", idx)),
            (Value::Map(m), Value::String(k)) => Ok(m.get(k.as_ref()).unwrap_or(Value::Nil)),
            (Value::Map(_), _) => Err(bad_index("map", idx)),
            // Go indexes strings as `[]byte` — mid-codepoint offsets are
            // valid since Go has no UTF-8 invariant. We surface the byte as
            // a `Value::Int` to keep that semantic without breaking ours.
            (Value::String(s), Value::Int(_) | Value::Uint(_)) => {
                let bytes = s.as_bytes();
                Ok(Value::Int(bytes[check_bounds(idx, bytes.len())?] as i64))
            }
            (Value::String(_), _) => Err(bad_index("string", idx)),
            (Value::Nil, _) => Err(crate::error::TemplateError::Exec(
                "index of untyped nil".into(),
            )),
            _ => Err(crate::error::TemplateError::Exec(format!(
                "cannot index type {}",
                self.type_name()
            ))),
        }
    }

    /// The Go type this value stands for, as Go's messages and `%T` print it
    /// (`map[string]interface {}`, `[]interface {}`, `float64`, `<nil>`, …).
    pub fn type_name(&self) -> &'static str {
        crate::go::type_name(self)
    }

    /// Returns the length of a string, list, or map.
    ///
    /// Returns `None` for types that have no concept of length.
    /// Mirrors Go's `len` builtin.
    pub fn len(&self) -> Option<usize> {
        match self.untyped() {
            Value::String(s) => Some(s.len()),
            Value::List(v) => Some(v.len()),
            Value::Map(m) => Some(m.len()),
            _ => None,
        }
    }

    /// Returns `Some(true)` if the value has a length and that length is zero.
    ///
    /// Returns `None` for types that have no concept of length.
    pub fn is_empty(&self) -> Option<bool> {
        self.len().map(|n| n == 0)
    }

    /// Slice a [`Value::List`] or [`Value::String`] by byte range.
    ///
    /// Mirrors Go's `slice` builtin: `slice x`, `slice x i`, `slice x i j`.
    /// Omitted bounds default to `0` (start) and `len` (end).
    ///
    /// # Errors
    ///
    /// Returns an error if the indices are out of range, inverted, on a
    /// non-UTF-8-char boundary (strings), or the value is not sliceable.
    pub fn slice(&self, start: Option<i64>, end: Option<i64>) -> Result<Value> {
        // Resolve caller-supplied i64 bounds into usize indices in [0, len].
        // `len as i64` is lossless: Rust caps allocations at isize::MAX, which
        // fits in i64 on every supported target.
        fn resolve(
            kind: &str,
            start: Option<i64>,
            end: Option<i64>,
            len: usize,
        ) -> Result<(usize, usize)> {
            let len_i = len as i64;
            let start = start.unwrap_or(0);
            let end = end.unwrap_or(len_i);
            if start < 0 || end < 0 || start > len_i || end > len_i || start > end {
                return Err(crate::error::TemplateError::Exec(format!(
                    "slice: {kind} index out of range [{start}:{end}] with length {len}"
                )));
            }
            Ok((start as usize, end as usize))
        }
        if let Value::Typed(t) = self {
            return t.value.slice(start, end);
        }
        match self {
            Value::List(v) => {
                let (s, e) = resolve("list", start, end, v.len())?;
                if s == 0 && e == v.len() {
                    return Ok(Value::List(Arc::clone(v)));
                }
                Ok(Value::List(Arc::from(&v[s..e])))
            }
            Value::String(str) => {
                let (s, e) = resolve("string", start, end, str.len())?;
                if !str.is_char_boundary(s) || !str.is_char_boundary(e) {
                    return Err(crate::error::TemplateError::Exec(
                        "slice: index not on UTF-8 character boundary".to_string(),
                    ));
                }
                if s == 0 && e == str.len() {
                    return Ok(Value::String(Arc::clone(str)));
                }
                Ok(Value::String(Arc::from(&str[s..e])))
            }
            _ => Err(crate::error::TemplateError::Exec(format!(
                "slice: cannot slice type {}",
                self.type_name()
            ))),
        }
    }

    /// Extracts a string slice if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self.untyped() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Extracts an `i64`: returned directly for a [`Value::Int`], reinterpreted
    /// from a [`Value::Uint`] (`u64 as i64`, which wraps to a negative value
    /// above `i64::MAX`), or truncated from a [`Value::Float`].
    ///
    /// The `Uint` path is lossy as a *signed value* above `i64::MAX` — only the
    /// bit pattern survives (`n as i64 as u64 == n`), not the magnitude. Anything
    /// that must see a uint's true magnitude matches [`Value::Uint`] directly
    /// instead: the `%d` / `%x` / `%X` / `%o` / `%b` / `%U` printf verbs and the
    /// index/slice paths all do. The sole remaining uint consumer here is `%c`,
    /// where a value outside the rune range is invalid regardless of sign, so the
    /// wrap is harmless (it maps to U+FFFD either way).
    pub fn as_int(&self) -> Option<i64> {
        match self.untyped() {
            Value::Int(n) => Some(*n),
            Value::Uint(n) => Some(*n as i64),
            Value::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// `value` as the Go type `go_type` of kind `kind` (see [`Value::Typed`]).
    pub fn typed(go_type: &'static str, kind: &'static str, value: Value) -> Value {
        Value::Typed(Arc::new(Typed {
            go_type,
            kind,
            value: value.untyped().clone(),
            methods: None,
        }))
    }

    /// [`Value::typed`] with `methods`, reached by a field name as on a Go named type
    /// (`.Capabilities.APIVersions.Has`); functions still get the plain value.
    pub fn typed_with_methods(
        go_type: &'static str,
        kind: &'static str,
        value: Value,
        methods: BTreeMap<String, ValueFunc>,
    ) -> Value {
        Value::Typed(Arc::new(Typed {
            go_type,
            kind,
            value: value.untyped().clone(),
            methods: Some(Arc::new(Methods(methods))),
        }))
    }

    /// The value a [`Value::Typed`] behaves as; any other value itself.
    pub(crate) fn untyped(&self) -> &Value {
        match self {
            Value::Typed(t) => t.value.untyped(),
            other => other,
        }
    }

    /// Creates a [`Value::Map`] from a fixed-size array of key-value pairs.
    ///
    /// This is the constructor used by the [`tmap!`](crate::tmap) macro.
    #[doc(hidden)]
    pub fn from_entries<const N: usize>(entries: [(String, Value); N]) -> Self {
        Value::Map(Dict::from_map(
            entries
                .into_iter()
                .map(|(k, v)| (Arc::from(k), v))
                .collect(),
        ))
    }
}

/// Deepest nesting [`Value`]'s `Display` descends into; deeper (or cyclic — a map
/// that contains itself through Sprig's `set`) content prints as `...` instead of
/// exhausting the stack.
pub(crate) const MAX_DISPLAY_DEPTH: usize = 1000;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::go::write_v(f, self)
    }
}

/// Rust-side equality for [`Value`].
///
/// Type-strict: values must have the same variant to compare equal
/// (except `Nil == Nil`).
///
/// Template builtins (`eq`, `ne`) implement Go-compatible comparison error
/// semantics separately in `funcs.rs`.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self.untyped(), other.untyped()) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Uint(a), Value::Uint(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => Arc::ptr_eq(a, b) || nested(|deep| !deep && a == b),
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

/// Rust-side partial ordering for [`Value`].
///
/// Supports ordering for same-type numeric and string variants only:
/// [`Value::Int`], [`Value::Float`], [`Value::String`]. Every other
/// combination returns `None`.
///
/// Template builtins (`lt`, `le`, `gt`, `ge`) implement Go-compatible
/// comparison error semantics separately in `funcs.rs`.
impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        match (self.untyped(), other.untyped()) {
            (Value::Int(a), Value::Int(b)) => a.partial_cmp(b),
            (Value::Uint(a), Value::Uint(b)) => a.partial_cmp(b),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::String(a), Value::String(b)) => a.partial_cmp(b),
            _ => None,
        }
    }
}

/// Trait for converting Rust types into template [`Value`]s.
///
/// Standing in for Go's ability to pass any type to `template.Execute()`.
/// Blanket impls cover common types; implement it on your own types to pass
/// them as template data.
///
/// # Examples
///
/// ```
/// use imagebom_template::{Value, ToValue};
///
/// assert_eq!(42i64.to_value(), Value::Int(42));
/// assert_eq!("hello".to_value(), Value::String("hello".into()));
/// assert_eq!(true.to_value(), Value::Bool(true));
///
/// let none: Option<i64> = None;
/// assert_eq!(none.to_value(), Value::Nil);
/// ```
pub trait ToValue {
    /// Convert this value into a template [`Value`].
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! impl_to_value_int {
    ($($t:ty),*) => {
        $(impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        })*
    };
}

macro_rules! impl_to_value_uint {
    ($($t:ty),*) => {
        $(impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Uint(*self as u64)
            }
        })*
    };
}

// Signed integers map to `Value::Int`; unsigned integers map to `Value::Uint`,
// mirroring Go's distinct signed/unsigned reflect kinds. Keeping the unsigned
// family in `Value::Uint` is what lets `u64::MAX` render and compare as its
// true value instead of wrapping to `Value::Int(-1)`.
impl_to_value_int!(i8, i16, i32, i64, isize);
impl_to_value_uint!(u8, u16, u32, u64, usize);

impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::Float(*self as f64)
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::String(Arc::from(self))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(Arc::from(self.as_str()))
    }
}

impl ToValue for alloc::borrow::Cow<'_, str> {
    fn to_value(&self) -> Value {
        Value::String(Arc::from(self.as_ref()))
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (*self).to_value()
    }
}

/// Converts `Some(v)` to `v.to_value()` and `None` to [`Value::Nil`].
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Nil,
        }
    }
}

fn list_from_iter<'a, T: ToValue + 'a, I: IntoIterator<Item = &'a T>>(iter: I) -> Value {
    Value::List(
        iter.into_iter()
            .map(ToValue::to_value)
            .collect::<Vec<_>>()
            .into(),
    )
}

fn map_from_iter_str<'a, T: ToValue + 'a, I: IntoIterator<Item = (&'a str, &'a T)>>(
    iter: I,
) -> Value {
    Value::Map(Dict::from_map(
        iter.into_iter()
            .map(|(k, v)| (Arc::from(k), v.to_value()))
            .collect(),
    ))
}

impl<T: ToValue> ToValue for [T] {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

impl<T: ToValue, const N: usize> ToValue for [T; N] {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

impl<T: ToValue> ToValue for alloc::collections::VecDeque<T> {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

impl<T: ToValue> ToValue for alloc::collections::LinkedList<T> {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

impl<T: ToValue> ToValue for alloc::collections::BTreeSet<T> {
    fn to_value(&self) -> Value {
        list_from_iter(self.iter())
    }
}

#[cfg(feature = "std")]
impl<T: ToValue> ToValue for std::collections::HashSet<T> {
    fn to_value(&self) -> Value {
        // Collect and sort for deterministic output.
        let mut items: Vec<Value> = self.iter().map(ToValue::to_value).collect();
        items.sort_by(|a, b| a.partial_cmp(b).unwrap_or(core::cmp::Ordering::Equal));
        Value::List(items.into())
    }
}

impl<T: ToValue> ToValue for BTreeMap<String, T> {
    fn to_value(&self) -> Value {
        map_from_iter_str(self.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl<T: ToValue> ToValue for BTreeMap<&str, T> {
    fn to_value(&self) -> Value {
        map_from_iter_str(self.iter().map(|(k, v)| (*k, v)))
    }
}

#[cfg(feature = "std")]
impl<T: ToValue> ToValue for std::collections::HashMap<String, T> {
    fn to_value(&self) -> Value {
        map_from_iter_str(self.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

#[cfg(feature = "std")]
impl<T: ToValue> ToValue for std::collections::HashMap<&str, T> {
    fn to_value(&self) -> Value {
        map_from_iter_str(self.iter().map(|(k, v)| (*k, v)))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(Dict::from_map(
            m.into_iter().map(|(k, v)| (Arc::from(k), v)).collect(),
        ))
    }
}

impl From<BTreeMap<Arc<str>, Value>> for Value {
    fn from(m: BTreeMap<Arc<str>, Value>) -> Self {
        Value::Map(Dict::from_map(m))
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v.into())
    }
}

impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Self {
        Value::String(s)
    }
}

impl From<Arc<[Value]>> for Value {
    fn from(v: Arc<[Value]>) -> Self {
        Value::List(v)
    }
}

impl From<Dict> for Value {
    fn from(m: Dict) -> Self {
        Value::Map(m)
    }
}

/// Converts a [`std::collections::HashMap<String, Value>`] into a [`Value::Map`].
///
/// Useful when data is already in a `HashMap` and should be passed to a
/// template without first converting to `BTreeMap`.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use imagebom_template::Value;
///
/// let mut hm = HashMap::new();
/// hm.insert("key".to_string(), Value::Int(42));
/// let val = Value::from(hm);
/// assert!(matches!(val, Value::Map(_)));
/// ```
#[cfg(feature = "std")]
impl From<std::collections::HashMap<String, Value>> for Value {
    fn from(m: std::collections::HashMap<String, Value>) -> Self {
        Value::Map(Dict::from_map(
            m.into_iter().map(|(k, v)| (Arc::from(k), v)).collect(),
        ))
    }
}

/// Creates a [`Value::Map`] from key-value pairs, similar to Go's map literals.
///
/// Keys are converted to strings via `.to_string()`, and values are converted
/// via [`ToValue::to_value`].
///
/// # Examples
///
/// ```
/// use imagebom_template::{tmap, ToValue};
/// use imagebom_template::Value;
///
/// let data = tmap! {
///     "name" => "Alice",
///     "age" => 30i64,
///     "scores" => vec![95i64, 87, 92],
///     "address" => tmap! { "city" => "Paris" },
/// };
///
/// assert!(matches!(data, Value::Map(_)));
/// ```
#[macro_export]
macro_rules! tmap {
    () => {
        $crate::Value::from_entries([])
    };
    ($($key:expr => $val:expr),+ $(,)?) => {
        $crate::Value::from_entries([
            $(($key.to_string(), $crate::ToValue::to_value(&$val)),)+
        ])
    };
}

/// A Go `map[string]interface{}`: shared by reference, as Go maps are.
///
/// Cloning a `Dict` clones the handle, not the entries: Sprig's `set`, `unset`, `merge` and
/// `mergeOverwrite` write into the map they are given, and every variable or value that holds
/// the same map sees the change, exactly as in Go. [`Dict::deep_copy`] makes an independent
/// copy. Keys iterate in sorted order (Go's templates range over maps in key order).
///
/// A `Dict` may also carry *methods* ([`Dict::with_methods`]): functions reached by
/// a field name (`.Files.Glob "x"`, `(…).AsConfig`) that are not entries, so
/// `range`, `len`, printing and serialisation see only the entries, as with a Go
/// map type that has methods (Helm's `engine.files`). A `String` method is used
/// when the value is printed (Go's `fmt.Stringer`).
#[derive(Clone, Default)]
pub struct Dict(
    Arc<std::sync::RwLock<BTreeMap<Arc<str>, Value>>>,
    Option<Arc<BTreeMap<String, ValueFunc>>>,
    Option<(&'static str, &'static str)>,
    bool,
    /// How deep maps and lists nest in it, as known when the handle was made
    /// (a later `set` into a nested map is not seen).
    u32,
    /// Entries computed on first access ([`Dict::lazy`]).
    Option<Arc<LazyEntries>>,
);

/// The entries of a [`Dict::lazy`] map: computed once, on first access.
struct LazyEntries {
    once: std::sync::Once,
    fill: Box<dyn Fn() -> BTreeMap<Arc<str>, Value> + Send + Sync>,
}

impl Dict {
    /// An empty map.
    pub fn new() -> Dict {
        Dict::default()
    }

    /// A map holding `m`.
    pub fn from_map(m: BTreeMap<Arc<str>, Value>) -> Dict {
        let depth = 1 + m.values().map(nesting).max().unwrap_or(0);
        Dict(
            Arc::new(std::sync::RwLock::new(m)),
            None,
            None,
            false,
            depth,
            None,
        )
    }

    /// A map whose entries `fill` computes on first access (reading, ranging, printing,
    /// writing); methods and type need no entries. For entries that are neither maps nor
    /// lists (the nesting depth is taken as 1): Helm's `.Files`, whose contents are read
    /// only when a template looks at them.
    pub fn lazy(fill: impl Fn() -> BTreeMap<Arc<str>, Value> + Send + Sync + 'static) -> Dict {
        let mut d = Dict::new();
        d.4 = 1;
        d.5 = Some(Arc::new(LazyEntries {
            once: std::sync::Once::new(),
            fill: Box::new(fill),
        }));
        d
    }

    fn filled(&self) -> &std::sync::RwLock<BTreeMap<Arc<str>, Value>> {
        if let Some(l) = &self.5 {
            l.once.call_once(|| {
                let m = (l.fill)();
                *self
                    .0
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = m;
            });
        }
        &self.0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Arc<str>, Value>> {
        self.filled()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Arc<str>, Value>> {
        self.filled()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value at `key`, if present (it may be [`Value::Nil`]).
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.read().contains_key(key)
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&self, key: impl Into<Arc<str>>, value: Value) -> Option<Value> {
        self.write().insert(key.into(), value)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.write().remove(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<Arc<str>> {
        self.read().keys().cloned().collect()
    }

    /// A snapshot of the entries in key order (values are shallow clones: nested maps stay
    /// shared).
    pub fn entries(&self) -> Vec<(Arc<str>, Value)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A snapshot of the underlying map (shallow).
    pub fn to_map(&self) -> BTreeMap<Arc<str>, Value> {
        self.read().clone()
    }

    /// This map with `methods` attached (see the type docs).
    #[must_use]
    pub fn with_methods(mut self, methods: BTreeMap<String, ValueFunc>) -> Dict {
        self.1 = Some(Arc::new(methods));
        self
    }

    /// This value with the Go type name `name` (e.g. `version.BuildInfo`): what
    /// `typeOf` and `printf "%T"` report for a Go struct carried as a map. Its
    /// `kindOf` is `ptr` for a name starting with `*`, `complex128` for that
    /// type, else `struct` (see [`Dict::with_go_type`] for others).
    #[must_use]
    pub fn with_type_name(self, name: &'static str) -> Dict {
        let kind = if name.starts_with('*') {
            "ptr"
        } else if name == "complex128" {
            "complex128"
        } else {
            "struct"
        };
        self.with_go_type(name, kind)
    }

    /// This value with the Go type name `name` of `reflect.Kind` `kind` (e.g.
    /// Helm's `common.Values`, a `map`).
    #[must_use]
    pub fn with_go_type(mut self, name: &'static str, kind: &'static str) -> Dict {
        self.2 = Some((name, kind));
        self
    }

    /// A nil Go map: empty, printed as `map[]`, but `null` in `toJson`/`toYaml`
    /// (Go's `encoding/json` for a nil map), like an absent `annotations` of Chart.yaml.
    pub fn nil_map() -> Dict {
        let mut d = Dict::new();
        d.3 = true;
        d
    }

    /// Whether this is a [`Dict::nil_map`] that nothing was written into.
    pub(crate) fn is_nil_map(&self) -> bool {
        self.3 && self.is_empty()
    }

    /// The Go type name given by [`Dict::with_type_name`], if any.
    pub(crate) fn go_type_name(&self) -> Option<&'static str> {
        self.2.map(|t| t.0)
    }

    /// The `reflect.Kind` name given with the type name, if any.
    pub(crate) fn go_kind_name(&self) -> Option<&'static str> {
        self.2.map(|t| t.1)
    }

    /// The method called `name`, if this map has one.
    pub fn method(&self, name: &str) -> Option<ValueFunc> {
        self.1.as_ref().and_then(|m| m.get(name).cloned())
    }

    /// Whether both handles point at the same map.
    pub(crate) fn ptr_eq(&self, other: &Dict) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An independent copy, nested maps and lists included (Sprig's `deepCopy`);
    /// past [`MAX_VALUE_DEPTH`] levels the rest stays shared.
    pub fn deep_copy(&self) -> Dict {
        // A clone of the tree (keys and scalars shared or copied as they are), then each
        // map and list in it replaced by its copy: no re-sorting of the keys.
        let mut d = Dict::from_map(nested(|deep| {
            let mut m = self.to_map();
            if !deep {
                for v in m.values_mut() {
                    if matches!(v, Value::Map(_) | Value::List(_)) {
                        *v = v.deep_copy();
                    }
                }
            }
            m
        }));
        d.1 = self.1.clone();
        d.2 = self.2;
        d.3 = self.3;
        d
    }
}

impl Value {
    /// An independent copy of this value: maps are copied, not shared.
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m) => Value::Map(m.deep_copy()),
            Value::List(l) => nested(|deep| match deep {
                true => self.clone(),
                false => Value::List(l.iter().map(Value::deep_copy).collect::<Vec<_>>().into()),
            }),
            other => other.clone(),
        }
    }
}

/// Two maps are equal when they hold equal entries; past [`MAX_VALUE_DEPTH`] levels
/// of nesting (or a map that contains itself) they compare unequal.
impl PartialEq for Dict {
    fn eq(&self, other: &Dict) -> bool {
        self.ptr_eq(other) || nested(|deep| !deep && *self.read() == *other.read())
    }
}

/// Past [`MAX_VALUE_DEPTH`] levels of nesting a map prints as `...`.
impl fmt::Debug for Dict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        nested(|deep| match deep {
            true => f.write_str("..."),
            false => f.debug_map().entries(self.entries()).finish(),
        })
    }
}

/// Dropping the last handle of a map frees its nested maps and lists with a loop,
/// not recursion, so no nesting depth overflows the stack.
impl Drop for Dict {
    fn drop(&mut self) {
        let Some(lock) = Arc::get_mut(&mut self.0) else {
            return;
        };
        let map = lock
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !map.values().any(is_container) {
            return;
        }
        let mut pending: Vec<Value> = core::mem::take(map).into_values().collect();
        while let Some(v) = pending.pop() {
            match v {
                Value::Map(mut d) => {
                    if let Some(lock) = Arc::get_mut(&mut d.0) {
                        let m = lock
                            .get_mut()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        pending.extend(core::mem::take(m).into_values());
                    }
                }
                Value::List(mut l) => {
                    if let Some(items) = Arc::get_mut(&mut l) {
                        for it in items.iter_mut().filter(|it| is_container(it)) {
                            pending.push(core::mem::replace(it, Value::Nil));
                        }
                    }
                }
                Value::Typed(mut t) => {
                    if let Some(t) = Arc::get_mut(&mut t) {
                        pending.push(core::mem::replace(&mut t.value, Value::Nil));
                    }
                }
                _ => {}
            }
        }
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Map(_) | Value::List(_) | Value::Typed(_))
}

/// How deep maps and lists nest in `v` (0 for a scalar): a map's as recorded on
/// its handle, a list's from its elements (lists cannot change).
pub(crate) fn nesting(v: &Value) -> u32 {
    match v {
        Value::Map(d) => d.4.max(1),
        Value::List(l) => 1 + l.iter().map(nesting).max().unwrap_or(0),
        Value::Typed(t) => nesting(&t.value),
        _ => 0,
    }
}

impl Dict {
    /// Records how deep this map nests now (1 + its deepest entry) and returns it.
    pub(crate) fn renew_nesting(&mut self) -> u32 {
        let deepest = self.read().values().map(nesting).max().unwrap_or(0);
        self.4 = 1 + deepest;
        self.4
    }
}

/// Deepest nesting of maps and lists that comparisons, `Debug` and
/// [`Value::deep_copy`] walk (they stop there instead of overflowing the stack).
pub(crate) const MAX_VALUE_DEPTH: usize = 1000;

std::thread_local! {
    static NESTING: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Runs `f(false)` one level of value nesting deeper (on a grown stack when
/// needed), or `f(true)` when [`MAX_VALUE_DEPTH`] levels are open already.
pub(crate) fn nested<R>(f: impl FnOnce(bool) -> R) -> R {
    struct Level(usize);
    impl Drop for Level {
        fn drop(&mut self) {
            NESTING.with(|n| n.set(self.0));
        }
    }
    let depth = NESTING.with(core::cell::Cell::get);
    if depth >= MAX_VALUE_DEPTH {
        return f(true);
    }
    NESTING.with(|n| n.set(depth + 1));
    let _restore = Level(depth);
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || f(false))
}
