//! Parsing one YAML document into a [`Value`] under a budget.
//!
//! `serde_yaml_ng` expands aliases while deserialising and only stops repetition beyond
//! 100 replays per event, which still lets a small document expand quadratically. The
//! value is therefore built by our own visitor that counts every node and every scalar
//! byte it creates (aliased content included) and gives up past the limits, and that
//! bounds nesting depth. Flow-collection nesting is bounded before parsing by
//! [`crate::prescan`], as libyaml's scanner is slow on it.

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess};
use serde::de::{VariantAccess, Visitor};
use serde_yaml_ng::value::{Tag, TaggedValue};
use serde_yaml_ng::{Mapping, Value};
use std::cell::{Cell, RefCell};
use std::fmt;

/// Why a document could not be parsed; line and column are relative to the document text.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// True when a limit (size after alias expansion, nesting depth) was hit, not the syntax.
    pub limit: bool,
}

/// Budget for one parse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub max_nodes: usize,
    pub max_scalar_bytes: usize,
    pub max_depth: usize,
}

struct State {
    budget: Budget,
    nodes: Cell<usize>,
    bytes: Cell<usize>,
    exceeded: RefCell<Option<String>>,
}

impl State {
    fn fail<E: de::Error>(&self, msg: String) -> E {
        let e = E::custom(&msg);
        *self.exceeded.borrow_mut() = Some(msg);
        e
    }

    fn node<E: de::Error>(&self, scalar_bytes: usize) -> Result<(), E> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > self.budget.max_nodes {
            return Err(self.fail(format!(
                "document expands to more than {} nodes (alias expansion?)",
                self.budget.max_nodes
            )));
        }
        let b = self.bytes.get().saturating_add(scalar_bytes);
        self.bytes.set(b);
        if b > self.budget.max_scalar_bytes {
            return Err(self.fail(format!(
                "document expands to more than {} bytes of text (alias expansion?)",
                self.budget.max_scalar_bytes
            )));
        }
        Ok(())
    }
}

/// Parses one YAML document (the text must hold at most one document).
pub(crate) fn parse_document(text: &str, budget: Budget) -> Result<Value, ParseError> {
    if let Some((line, column)) = crate::prescan::flow_too_deep(text, budget.max_depth) {
        return Err(ParseError {
            line: Some(line),
            column: Some(column),
            message: format!(
                "flow collections (`[`, `{{`) nested deeper than {} levels",
                budget.max_depth
            ),
            limit: true,
        });
    }
    let state = State {
        budget,
        nodes: Cell::new(0),
        bytes: Cell::new(0),
        exceeded: RefCell::new(None),
    };
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let result = Seed {
        state: &state,
        depth: 0,
    }
    .deserialize(de);
    result.map_err(|e| {
        let loc = e.location();
        let exceeded = state.exceeded.borrow_mut().take();
        let msg = e.to_string();
        let limit = exceeded.is_some()
            || msg.starts_with("recursion limit exceeded")
            || msg.starts_with("repetition limit exceeded");
        ParseError {
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: exceeded.unwrap_or(msg),
            limit,
        }
    })
}

#[derive(Clone, Copy)]
struct Seed<'s> {
    state: &'s State,
    depth: usize,
}

impl Seed<'_> {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.state.budget.max_depth {
            return Err(self.state.fail(format!(
                "document is nested deeper than {} levels",
                self.state.budget.max_depth
            )));
        }
        Ok(Seed {
            state: self.state,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.state.node(0)?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        self.state.node(0)?;
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        self.state.node(0)?;
        Ok(Value::Number(u.into()))
    }

    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        self.visit_string(i.to_string())
    }

    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        self.visit_string(u.to_string())
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        self.state.node(0)?;
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.state.node(s.len())?;
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        self.state.node(s.len())?;
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.state.node(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.state.node(0)?;
        let inner = self.deeper()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.state.node(0)?;
        let inner = self.deeper()?;
        let mut out = Mapping::new();
        while let Some(k) = map.next_key_seed(inner)? {
            let v = map.next_value_seed(inner)?;
            // Duplicate keys: the last one wins, as in Kubernetes' decoder.
            out.insert(k, v);
        }
        Ok(Value::Mapping(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // serde_yaml_ng presents a node with a non-standard tag (`!foo`) as an enum.
        let (tag, contents): (String, _) = data.variant()?;
        self.state.node(tag.len())?;
        let value = contents.newtype_variant_seed(self)?;
        if tag.is_empty() {
            return Ok(value);
        }
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Budget = Budget {
        max_nodes: 10_000,
        max_scalar_bytes: 1 << 20,
        max_depth: 64,
    };

    #[test]
    fn parses_like_serde_yaml_ng() {
        let text = "a: [1, -2, 3.5, true, null, x]\nb: !custom {c: d}\n'k': \"v\"\n";
        let ours = parse_document(text, B).unwrap();
        let theirs: Value = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn quadratic_alias_expansion_is_cut_off() {
        let mut text = String::from("a: &a [");
        text.push_str(&"x,".repeat(1000));
        text.push_str("]\nb: [");
        text.push_str(&"*a,".repeat(1000));
        text.push_str("]\n");
        let e = parse_document(&text, B).unwrap_err();
        assert!(e.limit, "{e:?}");
        assert!(e.message.contains("nodes"), "{e:?}");
    }

    #[test]
    fn depth_is_bounded() {
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let e = parse_document(&text, B).unwrap_err();
        assert!(e.limit && e.message.contains("nested"), "{e:?}");
    }
}
