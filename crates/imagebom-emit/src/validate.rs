//! Validation of emitted documents against the official JSON schemas, offline.
//!
//! `schemas/` must hold `bom-1.6.schema.json`, `spdx.schema.json`, `jsf-0.82.schema.json`
//! (CycloneDX 1.6) and `spdx-2.3.schema.json`. References between them are served from that
//! directory; any other reference is an error, so validation never touches the network.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Which schema a document is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// CycloneDX 1.6 (`bom-1.6.schema.json`).
    CycloneDx16,
    /// SPDX 2.3 (`spdx-2.3.schema.json`).
    Spdx23,
}

/// Why a validator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// A schema file is missing or not JSON.
    #[error("{path}: cannot load schema: {message}")]
    Load { path: String, message: String },
    /// The schema does not compile.
    #[error("schema {name} does not compile: {message}")]
    Compile { name: &'static str, message: String },
}

fn load(dir: &Path, name: &str) -> Result<Value, ValidateError> {
    let path = dir.join(name);
    let err = |message: String| ValidateError::Load {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(e.to_string()))
}

struct LocalSchemas(PathBuf);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        match name {
            "spdx.schema.json" | "jsf-0.82.schema.json" => Ok(load(&self.0, name)?),
            _ => Err(format!("schema {uri} is not available offline").into()),
        }
    }
}

/// A compiled validator for one schema.
pub struct Validator(jsonschema::Validator);

impl Validator {
    /// Compiles `schema` from the files in `dir`.
    pub fn new(dir: &Path, schema: Schema) -> Result<Validator, ValidateError> {
        let (name, file) = match schema {
            Schema::CycloneDx16 => ("CycloneDX 1.6", "bom-1.6.schema.json"),
            Schema::Spdx23 => ("SPDX 2.3", "spdx-2.3.schema.json"),
        };
        let root = load(dir, file)?;
        jsonschema::options()
            .with_retriever(LocalSchemas(dir.to_path_buf()))
            .build(&root)
            .map(Validator)
            .map_err(|e| ValidateError::Compile {
                name,
                message: e.to_string(),
            })
    }

    /// Every violation in `doc`, as `message at /json/pointer`; empty when valid.
    pub fn errors(&self, doc: &Value) -> Vec<String> {
        self.0
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }
}
