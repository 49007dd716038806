//! `values.schema.json` validation of the coalesced values of a chart and its subcharts, as
//! Helm's `ValidateAgainstSchema` does it.

use imagebom_template::{Dict, Value};

use crate::chart::Chart;

/// Largest schema accepted (bytes).
pub const MAX_SCHEMA_BYTES: usize = 4 << 20;

/// Validates `values` against the chart's schema and each enabled subchart's values against
/// its schema. Returns Helm's listing (`CHART:\n- at '/path': message\n` per chart), or
/// `None` when everything validates.
pub fn validate(chart: &Chart, values: &Dict) -> Option<String> {
    let mut sb = String::new();
    if let Some(schema) = &chart.schema {
        if let Err(e) = validate_single(values, schema) {
            sb.push_str(&format!("{}:\n{e}", chart.name()));
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Nil) => continue,
            Some(Value::Map(m)) => {
                if let Some(e) = validate(sub, &m) {
                    sb.push_str(&e);
                }
            }
            Some(other) => sb.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
    if sb.is_empty() {
        None
    } else {
        Some(sb)
    }
}

/// Validates one values map against one schema; the error lists every failing path.
pub fn validate_single(values: &Dict, schema: &[u8]) -> Result<(), String> {
    if schema.len() > MAX_SCHEMA_BYTES {
        return Err(format!(
            "schema is {} bytes, over the limit of {MAX_SCHEMA_BYTES} bytes (MAX_SCHEMA_BYTES)\n",
            schema.len()
        ));
    }
    let schema: serde_json::Value =
        serde_json::from_slice(schema).map_err(|e| format!("invalid values.schema.json: {e}\n"))?;
    let validator = jsonschema::options()
        .build(&schema)
        .map_err(|e| format!("invalid values.schema.json: {e}\n"))?;
    let instance = imagebom_template::convert::to_json(&Value::Map(values.clone()));
    // The common case, valid values, without collecting errors.
    if validator.is_valid(&instance) {
        return Ok(());
    }
    // path -> messages; required properties of one path are listed together, as
    // santhosh-tekuri/jsonschema (Helm's validator) does.
    let mut by_path: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut required: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in validator.iter_errors(&instance) {
        let path = e.instance_path().to_string();
        if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
            required.entry(path).or_default().push(quote(property));
            continue;
        }
        by_path.entry(path).or_default().push(message(&e));
    }
    for (path, props) in required {
        let m = if props.len() == 1 {
            format!("missing property {}", props[0])
        } else {
            format!("missing properties {}", props.join(", "))
        };
        by_path.entry(path).or_default().push(m);
    }
    if by_path.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    for (path, msgs) in by_path {
        for m in msgs {
            out.push_str(&format!("- at '{path}': {m}\n"));
        }
    }
    Err(out)
}

/// A JSON value as santhosh-tekuri/jsonschema quotes it: strings in single quotes.
fn quote(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn len_of(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => s.chars().count(),
        serde_json::Value::Array(a) => a.len(),
        serde_json::Value::Object(o) => o.len(),
        _ => 0,
    }
}

/// The message santhosh-tekuri/jsonschema v6 gives for an error kind (the validator's own
/// wording for kinds without a counterpart).
fn message(e: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let inst: &serde_json::Value = e.instance();
    match e.kind() {
        K::Type { kind } => {
            let want: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            format!("got {}, want {}", type_name(inst), want.join(" or "))
        }
        K::Enum { options } => match &**options {
            serde_json::Value::Array(a) if a.len() == 1 => {
                format!("value must be {}", quote(&a[0]))
            }
            serde_json::Value::Array(a) => format!(
                "value must be one of {}",
                a.iter().map(quote).collect::<Vec<_>>().join(", ")
            ),
            other => format!("value must be one of {}", quote(other)),
        },
        K::Constant { expected_value } => format!("value must be {}", quote(expected_value)),
        K::Pattern { pattern } => format!("{} does not match pattern '{pattern}'", quote(inst)),
        K::Minimum { limit } => format!("must be >= {limit} but found {inst}"),
        K::Maximum { limit } => format!("must be <= {limit} but found {inst}"),
        K::ExclusiveMinimum { limit } => format!("must be > {limit} but found {inst}"),
        K::ExclusiveMaximum { limit } => format!("must be < {limit} but found {inst}"),
        K::MinLength { limit } => format!("minLength: got {}, want {limit}", len_of(inst)),
        K::MaxLength { limit } => format!("maxLength: got {}, want {limit}", len_of(inst)),
        K::MinItems { limit } => format!("minItems: got {}, want {limit}", len_of(inst)),
        K::MaxItems { limit } => format!("maxItems: got {}, want {limit}", len_of(inst)),
        K::MinProperties { limit } => format!("minProperties: got {}, want {limit}", len_of(inst)),
        K::MaxProperties { limit } => format!("maxProperties: got {}, want {limit}", len_of(inst)),
        K::AdditionalProperties { unexpected } => format!(
            "additional properties {} not allowed",
            unexpected
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        K::FalseSchema => "false schema".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_failing_paths() {
        let v = match imagebom_template::convert::from_yaml_str("replicas: two\nimage: {tag: 1}\n")
            .unwrap()
        {
            Value::Map(m) => m,
            _ => unreachable!(),
        };
        let schema = br#"{"type":"object","required":["name"],"properties":{"replicas":{"type":"integer"},"image":{"type":"object","properties":{"tag":{"type":"string"}}}}}"#;
        let e = validate_single(&v, schema).unwrap_err();
        assert!(e.contains("- at '/replicas'"), "{e}");
        assert!(e.contains("- at '/image/tag'"), "{e}");
        assert!(e.contains("- at '': missing property 'name'"), "{e}");
        assert!(
            e.contains("- at '/replicas': got string, want integer"),
            "{e}"
        );
        let ok = br#"{"type":"object","properties":{"image":{"type":"object"}}}"#;
        assert!(validate_single(&v, ok).is_ok());
    }
}
