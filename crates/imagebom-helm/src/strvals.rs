//! `--set` parsing, as Helm's `pkg/strvals` does it: `a.b=c`, lists `a[0]=x`, `a={x,y}`,
//! `\`-escaped separators, `,` between assignments. Integers stay integers (`int64`), `true`,
//! `false` and `null` are typed, everything else is a string.

use imagebom_template::{Dict, Value};

use crate::error::HelmError;

const MAX_INDEX: usize = 65536;
const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Deepest nesting of list indexes (`a[0][0]…`) in one `--set` expression (Helm has
/// none and recurses once per level).
pub const MAX_NESTED_LIST_LEVEL: usize = 1000;

/// Parses one `--set` expression into `dest` (later assignments win), as `helm --set` does.
///
/// # Errors
///
/// [`HelmError::Set`] with Helm's message (`key "x" has no value`, `list must terminate with
/// '}'`, index errors…).
pub fn parse_set(expr: &str, dest: &Dict) -> Result<(), HelmError> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        lists: 0,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Err(message)) => {
                return Err(HelmError::Set {
                    expr: shorten(expr),
                    message,
                });
            }
        }
    }
}

/// An expression as an error quotes it: whole up to 200 characters, else its first 100 and its
/// length (a 30,000-level `--set` would otherwise make a 90 KB error line).
fn shorten(expr: &str) -> String {
    const SHOWN: usize = 100;
    if expr.chars().count() <= 2 * SHOWN {
        return expr.to_string();
    }
    let head: String = expr.chars().take(SHOWN).collect();
    format!("{head}… ({} bytes)", expr.len())
}

enum Stop {
    Eof,
    Err(String),
}

fn err<T>(m: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Err(m.into()))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// List indexes open around the current position.
    lists: usize,
}

impl Parser {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads until a stop rune; returns (text, stop rune or None at end).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn key(&mut self, data: &Dict, level: usize) -> Result<(), Stop> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    err(format!("key {k:?} has no value"))
                }
            }
            Some('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.to_vec(),
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            other.type_name()
                        ));
                    }
                };
                let (list, e) = self.list_item(list, i, level);
                set(data, &k, Value::List(list.into()));
                e
            }
            Some('=') => match self.val_list() {
                Ok(Some(vl)) => {
                    set(data, &k, Value::List(vl.into()));
                    Ok(())
                }
                Err(Stop::Eof) => {
                    set(data, &k, Value::String("".into()));
                    Err(Stop::Eof)
                }
                Err(e) => Err(e),
                Ok(None) => {
                    let (rs, _) = self.until(&[',']);
                    set(data, &k, typed_val(&rs));
                    Ok(())
                }
            },
            Some(',') => {
                set(data, &k, Value::String("".into()));
                err(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let inner = match data.get(&k) {
                    None => Dict::new(),
                    Some(Value::Map(m)) => m,
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            other.type_name()
                        ));
                    }
                };
                let e = self.key(&inner, level);
                if e.is_ok() && inner.is_empty() {
                    return err(format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Map(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<usize, Stop> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        let i: i64 = v.parse().map_err(|_| {
            Stop::Err(format!(
                "error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax"
            ))
        })?;
        if i < 0 {
            return err(format!("negative {i} index not allowed"));
        }
        Ok(i as usize)
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: usize,
        level: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                err(format!("unexpected data at end of array index: {k:?}")),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => match self.val_list() {
                Ok(Some(vl)) => set_index(list, i, Value::List(vl.into())),
                Err(Stop::Eof) => set_index(list, i, Value::String("".into())),
                Err(e) => (list, Err(e)),
                Ok(None) => {
                    let (rs, _) = self.until(&[',']);
                    set_index(list, i, typed_val(&rs))
                }
            },
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                if self.lists >= MAX_NESTED_LIST_LEVEL {
                    return (
                        list,
                        err(format!(
                            "list index nested level is greater than the limit of {MAX_NESTED_LIST_LEVEL}"
                        )),
                    );
                }
                let crt = match list.get(i) {
                    Some(Value::List(l)) => l.to_vec(),
                    _ => Vec::new(),
                };
                self.lists += 1;
                // Each nested index recurses: grow the stack as needed (1,000 levels are
                // allowed), so a deep `--set` is an error or a value on any thread, never an abort.
                let (l2, e) = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    self.list_item(crt, next, level)
                });
                self.lists -= 1;
                if e.is_err() {
                    return (list, e);
                }
                set_index(list, i, Value::List(l2.into()))
            }
            Some(_) => {
                let inner = match list.get(i) {
                    Some(Value::Map(m)) => m.clone(),
                    Some(_) => {
                        let m = Dict::new();
                        list[i] = Value::Map(m.clone());
                        m
                    }
                    None => Dict::new(),
                };
                if let Err(e) = self.key(&inner, level) {
                    return (list, Err(e));
                }
                set_index(list, i, Value::Map(inner))
            }
        }
    }

    /// `{a,b}` list; `Ok(None)` when the value is not a list.
    fn val_list(&mut self) -> Result<Option<Vec<Value>>, Stop> {
        match self.chars.get(self.pos) {
            None => return Err(Stop::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(None),
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return err("list must terminate with '}'"),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(typed_val(&rs));
                    return Ok(Some(list));
                }
                Some(_) => list.push(typed_val(&rs)),
            }
        }
    }
}

fn set(data: &Dict, key: &str, val: Value) {
    if !key.is_empty() {
        data.insert(key, val);
    }
}

fn set_index(mut list: Vec<Value>, i: usize, val: Value) -> (Vec<Value>, Result<(), Stop>) {
    if i > MAX_INDEX {
        return (
            list,
            err(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            )),
        );
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = val;
    (list, Ok(()))
}

fn typed_val(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int(0);
    }
    if !s.is_empty() && !s.starts_with('0') {
        if let Ok(i) = s.parse::<i64>() {
            // Go's ParseInt accepts a leading '+' or '-' only; Rust's too.
            return Value::Int(i);
        }
    }
    Value::String(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_template::convert::to_json;

    fn set_json(exprs: &[&str]) -> String {
        let d = Dict::new();
        for e in exprs {
            parse_set(e, &d).unwrap();
        }
        to_json(&Value::Map(d)).to_string()
    }

    #[test]
    fn scalars_and_nesting() {
        assert_eq!(
            set_json(&["a.b=c,n=12,z=0,o=012,t=TRUE,x=null,f=1.5"]),
            r#"{"a":{"b":"c"},"f":"1.5","n":12,"o":"012","t":true,"x":null,"z":0}"#
        );
        assert_eq!(set_json(&["a.b=1", "a.c=2"]), r#"{"a":{"b":1,"c":2}}"#);
    }

    #[test]
    fn lists() {
        assert_eq!(set_json(&["a={x,y}"]), r#"{"a":["x","y"]}"#);
        assert_eq!(set_json(&["a[1]=x"]), r#"{"a":[null,"x"]}"#);
        assert_eq!(set_json(&["a[0].b=1,a[0].c=2"]), r#"{"a":[{"b":1,"c":2}]}"#);
        assert_eq!(set_json(&["a[0][1]=q"]), r#"{"a":[[null,"q"]]}"#);
        assert_eq!(set_json(&["a={x},b=2"]), r#"{"a":["x"],"b":2}"#);
    }

    #[test]
    fn escapes() {
        assert_eq!(set_json(&[r"a\.b=c\,d"]), r#"{"a.b":"c,d"}"#);
        assert_eq!(set_json(&["name=a=b"]), r#"{"name":"a=b"}"#);
    }

    #[test]
    fn errors() {
        let d = || Dict::new();
        let e = parse_set("a", &d()).unwrap_err().to_string();
        assert!(e.contains(r#"key "a" has no value"#), "{e}");
        let e = parse_set("a,b=1", &d()).unwrap_err().to_string();
        assert!(e.contains("cannot end with ,"), "{e}");
        let e = parse_set("a={x,y", &d()).unwrap_err().to_string();
        assert!(e.contains("list must terminate with '}'"), "{e}");
        let e = parse_set("a[-1]=x", &d()).unwrap_err().to_string();
        assert!(e.contains("negative -1 index not allowed"), "{e}");
        let e = parse_set("a[99999999]=x", &d()).unwrap_err().to_string();
        assert!(e.contains("maximum supported index"), "{e}");
        let deep = format!("a{}=1", "[0]".repeat(30_000));
        let e = parse_set(&deep, &d()).unwrap_err().to_string();
        assert!(e.contains("list index nested level is greater than the limit of 1000"));
        assert!(parse_set(&format!("a{}=1", "[0]".repeat(1000)), &d()).is_ok());
        let deep = format!("a{}=1", "[0]".repeat(30_000));
        let e = parse_set(&deep, &d()).unwrap_err().to_string();
        assert!(
            e.len() < 400,
            "{} bytes: {}",
            e.len(),
            &e[..400.min(e.len())]
        );
        assert!(e.contains("a[0][0]") && e.contains("(90003 bytes)"), "{e}");
    }
}
