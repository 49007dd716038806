//! `cargo xtask kustomize-schema [--check]`: the strategic-merge table of `imagebom-kustomize`
//! (`crates/imagebom-kustomize/src/schema_table.rs`), generated from the Kubernetes OpenAPI
//! schema as the PyPI package `kubernetes-validate` ships it (Apache-2.0; the JSON schemas keep
//! `x-kubernetes-patch-merge-key` / `-strategy`). Only the fields on a path from a built-in kind
//! to a list with a patch strategy are kept. `--check` fails when the committed table differs.

use anyhow::{bail, Context, Result};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The Kubernetes release of the schema (kubectl v1.32's, the oracle's).
const K8S: &str = "v1.32.0-local";
const PACKAGE: &str = "kubernetes-validate==1.37.0";
const TABLE: &str = "crates/imagebom-kustomize/src/schema_table.rs";

/// A field of a definition: the definition it holds (directly or as list items), its merge key
/// and patch strategy.
struct Field {
    child: String,
    key: String,
    strategy: String,
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let defs_file = definitions(root)?;
    let text = std::fs::read_to_string(&defs_file)
        .with_context(|| format!("reading {}", defs_file.display()))?;
    let doc: Json = serde_json::from_str(&text).context("parsing the schema")?;
    let defs = doc["$defs"].as_object().context("no $defs in the schema")?;
    let (roots, fields) = collect(defs);
    let keep = useful(&fields);
    let table = render(&roots, &fields, &keep);
    let out = root.join(TABLE);
    if args.iter().any(|a| a == "--check") {
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        if old != table {
            bail!("{TABLE} differs from the schema; run `cargo xtask kustomize-schema`");
        }
        println!("{TABLE} is up to date");
        return Ok(());
    }
    std::fs::write(&out, table)?;
    println!("wrote {TABLE} from {}", defs_file.display());
    Ok(())
}

fn definitions(root: &Path) -> Result<PathBuf> {
    let venv = std::env::var_os("IMAGEBOM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    for entry in std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = entry
            .path()
            .join("site-packages/kubernetes_validate/kubernetes-json-schema")
            .join(K8S)
            .join("_definitions.json");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "the Kubernetes schema is not in {} (pip install {PACKAGE}; tests/requirements.txt has it)",
        venv.display()
    )
}

type Roots = BTreeMap<(String, String), String>;
type Fields = BTreeMap<String, BTreeMap<String, Field>>;

fn reference(v: &Json) -> Option<String> {
    let r = v
        .get("$ref")
        .or_else(|| v.get("items")?.get("$ref"))
        .or_else(|| v.get("allOf")?.get(0)?.get("$ref"))?;
    Some(r.as_str()?.rsplit('/').next()?.to_string())
}

fn collect(defs: &serde_json::Map<String, Json>) -> (Roots, Fields) {
    let mut roots = Roots::new();
    let mut fields = Fields::new();
    for (name, def) in defs {
        for gvk in def["x-kubernetes-group-version-kind"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let s = |f: &str| gvk[f].as_str().unwrap_or("").to_string();
            let api = if s("group").is_empty() {
                s("version")
            } else {
                format!("{}/{}", s("group"), s("version"))
            };
            roots.insert((api, s("kind")), name.clone());
        }
        let Some(props) = def["properties"].as_object() else {
            continue;
        };
        for (field, p) in props {
            let f = Field {
                child: reference(p).unwrap_or_default(),
                key: p["x-kubernetes-patch-merge-key"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                strategy: p["x-kubernetes-patch-strategy"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            };
            fields
                .entry(name.clone())
                .or_default()
                .insert(field.clone(), f);
        }
    }
    (roots, fields)
}

/// The definitions from which a field with a patch strategy can be reached.
fn useful(fields: &Fields) -> BTreeSet<String> {
    let mut keep: BTreeSet<String> = fields
        .iter()
        .filter(|(_, fs)| fs.values().any(|f| !f.strategy.is_empty()))
        .map(|(d, _)| d.clone())
        .collect();
    loop {
        let before = keep.len();
        for (d, fs) in fields {
            if fs.values().any(|f| keep.contains(&f.child)) {
                keep.insert(d.clone());
            }
        }
        if keep.len() == before {
            return keep;
        }
    }
}

fn render(roots: &Roots, fields: &Fields, keep: &BTreeSet<String>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "// Generated by `cargo xtask kustomize-schema` from the Kubernetes {K8S} OpenAPI schema\n\
         // as shipped in the PyPI package {PACKAGE} (Apache-2.0, The Kubernetes Authors).\n\
         // Do not edit.\n\n"
    ));
    out.push_str("/// (apiVersion, kind) of each built-in type → its definition, sorted.\n");
    out.push_str("const ROOTS: &[(&str, &str, &str)] = &[\n");
    for ((api, kind), def) in roots.iter().filter(|(_, d)| keep.contains(*d)) {
        out.push_str(&format!("    ({api:?}, {kind:?}, {def:?}),\n"));
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// (definition, field, definition it holds, merge key, patch strategy), sorted.\n",
    );
    out.push_str("const FIELDS: &[(&str, &str, &str, &str, &str)] = &[\n");
    for (def, fs) in fields.iter().filter(|(d, _)| keep.contains(*d)) {
        for (name, f) in fs {
            let child = if keep.contains(&f.child) {
                f.child.as_str()
            } else {
                ""
            };
            if child.is_empty() && f.strategy.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "    ({def:?}, {name:?}, {child:?}, {:?}, {:?}),\n",
                f.key, f.strategy
            ));
        }
    }
    out.push_str("];\n");
    out
}
