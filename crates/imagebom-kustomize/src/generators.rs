//! The `generators` field: generator configs (files, directories whose kustomization outputs
//! them, or inline YAML), run after the kustomization's own generators as Kustomize runs them
//! with plugins disabled (its default): only the builtin kinds (`apiVersion: builtin`)
//! ConfigMapGenerator, SecretGenerator and HelmChartInflationGenerator, on the existing
//! `configMapGenerator` / `secretGenerator` / `helmCharts` code. Any other kind fails in
//! Kustomize's words, naming the config file.

use crate::config::Config;
use crate::kustomization::{parse_documents, Kustomization};
use crate::{KustomizeError, Object};
use serde_yaml_ng::{Mapping, Value};
use std::path::PathBuf;

/// Kustomize v5.5.0's builtin generator kinds that imagebom does not implement.
const BUILTIN_UNSUPPORTED: [&str; 1] = ["IAMPolicyGenerator"];

/// Kustomize v5.5.0's builtin transformer kinds (a config of one is "not a generator").
const BUILTIN_TRANSFORMERS: [&str; 14] = [
    "AnnotationsTransformer",
    "HashTransformer",
    "ImageTagTransformer",
    "LabelTransformer",
    "NamespaceTransformer",
    "PatchJson6902Transformer",
    "PatchStrategicMergeTransformer",
    "PatchTransformer",
    "PrefixSuffixTransformer",
    "PrefixTransformer",
    "SuffixTransformer",
    "ReplicaCountTransformer",
    "ValueAddTransformer",
    "ReplacementTransformer",
];

/// What a config runs as.
enum Generator {
    ConfigMap(Value),
    Secret(Value),
    Helm(Value),
}

/// Runs the `generators` of `k`, adding to (or merging into) `objects`.
pub(crate) fn run(k: &Kustomization, objects: &mut Vec<Object>) -> Result<(), KustomizeError> {
    let entries = k.strings("generators");
    if entries.is_empty() {
        return Ok(());
    }
    // As Kustomize: the inline configs first, then those the paths hold (each a file or a
    // kustomization directory, accumulated like `resources` with their own transformer
    // configurations, which stay theirs); all are loaded before any runs.
    let mut configs: Vec<(Value, PathBuf)> = Vec::new();
    let mut paths = Vec::new();
    for entry in &entries {
        if is_inline(entry) {
            let docs = parse_documents(entry, &k.file)?;
            configs.extend(docs.into_iter().map(|d| (d, k.file.clone())));
        } else {
            paths.push(entry.clone());
        }
    }
    for entry in &paths {
        let mut own = Config::default();
        let found = k.resource(entry, &mut own).map_err(|e| {
            KustomizeError::invalid(&k.file, format!("loading generator plugins: {e}"))
        })?;
        configs.extend(found.into_iter().map(|o| (o.doc, o.source)));
    }
    let generators = configs
        .iter()
        .map(|(doc, file)| load(k, doc, file))
        .collect::<Result<Vec<_>, _>>()?;
    for g in generators {
        match g {
            Generator::ConfigMap(args) => {
                crate::generate::run_config(k, objects, &args, "ConfigMap")?
            }
            Generator::Secret(args) => crate::generate::run_config(k, objects, &args, "Secret")?,
            Generator::Helm(chart) => {
                let mut globals = Mapping::new();
                for f in ["chartHome", "configHome"] {
                    if let Some(v) = chart.get(f) {
                        globals.insert(f.into(), v.clone());
                    }
                }
                let _span = tracing::info_span!("helm_chart", chart = ?chart.get("name")).entered();
                let inflated = crate::helm::inflate(k, &Value::Mapping(globals), &chart)?;
                crate::kustomization::append(objects, inflated, &k.file)?;
            }
        }
    }
    Ok(())
}

/// Whether an entry is an inline config (YAML whose first document is a mapping), not a path.
fn is_inline(entry: &str) -> bool {
    serde_yaml_ng::Deserializer::from_str(entry)
        .next()
        .and_then(|d| <Value as serde::Deserialize>::deserialize(d).ok())
        .is_some_and(|v| v.is_mapping())
}

/// Checks one config as Kustomize's plugin loader does and maps its fields onto the builtin
/// generator's arguments.
fn load(
    k: &Kustomization,
    doc: &Value,
    file: &std::path::Path,
) -> Result<Generator, KustomizeError> {
    let id = crate::id(doc);
    let failed = |message: String| {
        KustomizeError::invalid(
            &k.file,
            format!(
                "loading generator plugins: failed to load generator: {message} (generators: {}; \
                 imagebom runs no plugins)",
                file.display()
            ),
        )
    };
    if !(id.group.is_empty() && id.version == "builtin") {
        return Err(failed(format!(
            "external plugins disabled; unable to load external plugin '{}'",
            id.kind
        )));
    }
    let ns = if id.namespace.is_empty() {
        "[noNs]"
    } else {
        &id.namespace
    };
    match id.kind.as_str() {
        "ConfigMapGenerator" | "SecretGenerator" => {
            let mut args = Mapping::new();
            if let Value::Mapping(m) = doc {
                for (key, v) in m {
                    if !matches!(key.as_str(), Some("apiVersion" | "kind" | "metadata")) {
                        args.insert(key.clone(), v.clone());
                    }
                }
            }
            // The config's own `name` / `namespace`, else its metadata's.
            for (f, from) in [("name", &id.name), ("namespace", &id.namespace)] {
                let empty = args
                    .get(f)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
                if empty && !from.is_empty() {
                    args.insert(f.into(), from.clone().into());
                }
            }
            let args = Value::Mapping(args);
            Ok(if id.kind == "ConfigMapGenerator" {
                Generator::ConfigMap(args)
            } else {
                Generator::Secret(args)
            })
        }
        "HelmChartInflationGenerator" => Ok(Generator::Helm(doc.clone())),
        kind if BUILTIN_UNSUPPORTED.contains(&kind) => Err(KustomizeError::Unsupported {
            path: file.to_path_buf(),
            feature: format!("the builtin generator `{kind}` (generators)"),
        }),
        kind if BUILTIN_TRANSFORMERS.contains(&kind) => Err(failed(format!(
            "plugin {kind}.builtin.[noGrp]/{}.{ns} not a generator",
            id.name
        ))),
        kind => Err(failed(format!(
            "unable to load builtin {kind}.builtin.[noGrp]"
        ))),
    }
}
