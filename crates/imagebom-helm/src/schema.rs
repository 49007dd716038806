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
    let mut lines: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("- at '{}': {}", e.instance_path(), e))
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    lines.sort();
    lines.dedup();
    Err(lines.join("\n") + "\n")
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
        assert!(e.contains("name"), "{e}");
        let ok = br#"{"type":"object","properties":{"image":{"type":"object"}}}"#;
        assert!(validate_single(&v, ok).is_ok());
    }
}
