//! `configurations:`: transformer configuration files that add field specs to Kustomize's
//! built-in ones (name references, namespace, labels, annotations, images, var references).
//!
//! As in Kustomize, a kustomization's configuration also holds what its resources' (and
//! components') kustomizations declared, so an overlay's transformers use its bases' specs.

use crate::kustomization::Kustomization;
use crate::{get_str, Id, KustomizeError};
use serde_yaml_ng::Value;
use std::path::Path;

/// One field spec: which objects (empty = any) and the `/`-separated path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn parse(v: &Value) -> Self {
        let s = |f: &str| get_str(v, &[f]).unwrap_or("").to_string();
        FieldSpec {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
            path: s("path"),
            create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    /// Whether the spec applies to an object with this id.
    pub fn selects(&self, i: &Id) -> bool {
        (self.group.is_empty() || self.group == i.group)
            && (self.version.is_empty() || self.version == i.version)
            && (self.kind.is_empty() || self.kind == i.kind)
    }

    /// The path's segments.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
}

/// A name reference: objects of `kind` (and `group`, when given) are named by `specs`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NameRef {
    pub kind: String,
    pub group: String,
    pub specs: Vec<FieldSpec>,
}

/// The field specs added by `configurations:` files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub name_refs: Vec<NameRef>,
    pub namespace: Vec<FieldSpec>,
    pub var_refs: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    /// The legacy vars declared so far (not a configuration file section, but merged up the
    /// same way).
    pub vars: Vec<crate::vars::Var>,
}

/// The sections of a configuration file this build reads; any other is refused.
const SECTIONS: [&str; 8] = [
    "nameReference",
    "namespace",
    "varReference",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "namePrefix",
];

impl Config {
    /// The configuration files of `k`.
    pub fn load(k: &Kustomization) -> Result<Self, KustomizeError> {
        let mut cfg = Config::default();
        for entry in k.strings("configurations") {
            let (file, text) = k.read_restricted(&entry)?;
            for de in serde_yaml_ng::Deserializer::from_str(&text) {
                let v: Value =
                    serde::Deserialize::deserialize(de).map_err(|e| KustomizeError::Yaml {
                        path: file.clone(),
                        message: e.to_string(),
                    })?;
                cfg.read(&v, &file)?;
            }
        }
        Ok(cfg)
    }

    fn read(&mut self, v: &Value, file: &Path) -> Result<(), KustomizeError> {
        let Value::Mapping(m) = v else {
            return Ok(());
        };
        for key in m.keys() {
            let key = key.as_str().unwrap_or("");
            if !SECTIONS.contains(&key) {
                return Err(KustomizeError::Unsupported {
                    path: file.to_path_buf(),
                    feature: format!("the transformer configuration section `{key}`"),
                });
            }
        }
        let specs = |f: &str| -> Vec<FieldSpec> {
            v.get(f)
                .and_then(Value::as_sequence)
                .map(|s| s.iter().map(FieldSpec::parse).collect())
                .unwrap_or_default()
        };
        for r in v
            .get("nameReference")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let nr = NameRef {
                kind: get_str(r, &["kind"]).unwrap_or("").to_string(),
                group: get_str(r, &["group"]).unwrap_or("").to_string(),
                specs: r
                    .get("fieldSpecs")
                    .and_then(Value::as_sequence)
                    .map(|s| s.iter().map(FieldSpec::parse).collect())
                    .unwrap_or_default(),
            };
            self.merge_name_ref(nr);
        }
        add_all(&mut self.namespace, specs("namespace"));
        add_all(&mut self.var_refs, specs("varReference"));
        add_all(&mut self.common_labels, specs("commonLabels"));
        add_all(&mut self.common_labels, specs("labels"));
        add_all(&mut self.common_annotations, specs("commonAnnotations"));
        add_all(&mut self.images, specs("images"));
        add_all(&mut self.name_prefix, specs("namePrefix"));
        Ok(())
    }

    fn merge_name_ref(&mut self, nr: NameRef) {
        match self
            .name_refs
            .iter_mut()
            .find(|r| r.kind == nr.kind && r.group == nr.group)
        {
            Some(r) => add_all(&mut r.specs, nr.specs),
            None => self.name_refs.push(nr),
        }
    }

    /// Adds another kustomization's configuration to this one; a var declared twice is an
    /// error of `file`.
    pub fn merge(&mut self, other: Config, file: &Path) -> Result<(), KustomizeError> {
        for nr in other.name_refs {
            self.merge_name_ref(nr);
        }
        add_all(&mut self.namespace, other.namespace);
        add_all(&mut self.var_refs, other.var_refs);
        add_all(&mut self.common_labels, other.common_labels);
        add_all(&mut self.common_annotations, other.common_annotations);
        add_all(&mut self.images, other.images);
        add_all(&mut self.name_prefix, other.name_prefix);
        crate::vars::merge(&mut self.vars, other.vars, file)
    }
}

fn add_all(to: &mut Vec<FieldSpec>, from: Vec<FieldSpec>) {
    for s in from {
        if !to.contains(&s) {
            to.push(s);
        }
    }
}
