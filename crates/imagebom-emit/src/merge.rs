//! Merging partial BOMs of one recipe (`imagebom merge`): CI jobs that each run `generate`
//! on a slice of a large recipe produce partial CycloneDX or SPDX documents; [`merge`] joins
//! them into one.
//!
//! The result depends only on the set of inputs, never on their order: every list is a
//! union sorted by a fixed key, scalars must agree (or take a fixed pick: the latest
//! `timestamp`, the highest `version`, the byte-wise smallest `imagebom:reference` spelling,
//! as `generate` does), and document identifiers (`serialNumber`, the UUID that ends
//! `documentNamespace`) are recomputed from the merged content exactly as the emitters do.
//!
//! CycloneDX: components are keyed by `bom-ref` (else `purl`, else `type/name@version`),
//! properties and evidence are unions, dependencies are joined per `ref`. Components come out
//! sorted by key, dependencies with the BOM's subject first and then by `ref`, and properties
//! in the order the emitter writes them (`imagebom:reference`, `…normalized`, `…category`,
//! `…occurrence`, …, then other names alphabetically; repeated names sorted by value).
//! SPDX: packages are keyed by `SPDXID` (the described package first, then by `SPDXID`),
//! relationships are a sorted union.
//!
//! Two inputs that give the same reference different digests (`hashes`, `checksums`) are an
//! error naming both files; so is any other field two inputs disagree on (the error names the
//! field), and inputs that describe different recipes.

use crate::content_uuid;
use serde_cyclonedx::cyclonedx::v_1_6 as cdx;
use serde_json::{Map, Value};
use serde_spdx::spdx::v_2_3 as spdx;
use std::collections::{BTreeMap, BTreeSet};

/// Why BOMs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no input BOMs")]
    NoInput,
    /// An input is not a CycloneDX 1.6 or SPDX 2.3 JSON document.
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    /// Inputs of different formats.
    #[error("{first} is {first_format} but {second} is {second_format}: merge BOMs of one format at a time")]
    MixedFormats {
        first: String,
        first_format: &'static str,
        second: String,
        second_format: &'static str,
    },
    /// Two inputs give one reference different digests.
    #[error("{reference}: conflicting digests: {first_digest} in {first} but {second_digest} in {second}")]
    DigestConflict {
        reference: String,
        first: String,
        first_digest: String,
        second: String,
        second_digest: String,
    },
    /// Two inputs disagree on a field that has one value.
    #[error("{0}")]
    FieldConflict(Box<FieldConflict>),
    /// The merged document could not be serialised.
    #[error("cannot serialise the merged {format} document: {message}")]
    Serialize {
        format: &'static str,
        message: String,
    },
}

/// Two inputs that disagree on a field that has one value.
#[derive(Debug, thiserror::Error)]
#[error("{subject}: conflicting {field}: {first_value} in {first} but {second_value} in {second}")]
pub struct FieldConflict {
    /// The component, package or document.
    pub subject: String,
    /// The field (a JSON path, or `property NAME`).
    pub field: String,
    /// The first file.
    pub first: String,
    /// Its value.
    pub first_value: String,
    /// The second file.
    pub second: String,
    /// Its value.
    pub second_value: String,
}

/// Format of a merged document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BomFormat {
    /// CycloneDX JSON.
    CycloneDx,
    /// SPDX JSON.
    Spdx,
}

impl BomFormat {
    fn name(self) -> &'static str {
        match self {
            BomFormat::CycloneDx => "CycloneDX",
            BomFormat::Spdx => "SPDX",
        }
    }
}

/// One input: a name for errors (the file path) and its text.
#[derive(Debug, Clone)]
pub struct MergeInput {
    /// Shown in errors.
    pub name: String,
    /// The JSON document.
    pub text: String,
}

/// Merges partial BOMs of one recipe into one document (pretty JSON, trailing newline).
/// All inputs must have the same format; the output depends only on the set of inputs.
pub fn merge(inputs: &[MergeInput]) -> Result<(BomFormat, String), MergeError> {
    let mut sorted: Vec<&MergeInput> = inputs.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.text).cmp(&(&b.name, &b.text)));
    let names: Vec<String> = sorted.iter().map(|i| i.name.clone()).collect();
    merge_from(&names, |i| Ok(sorted[i].text.clone()))
}

/// [`merge`] reading each input only when its turn comes (`load(i)` gives the text of
/// `names[i]`), so that one input at a time is held besides the merged result.
pub fn merge_from(
    names: &[String],
    mut load: impl FnMut(usize) -> Result<String, MergeError>,
) -> Result<(BomFormat, String), MergeError> {
    if names.is_empty() {
        return Err(MergeError::NoInput);
    }
    // Process in a fixed order so that even error messages do not depend on argument order.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let first = order[0];
    let (format, first_doc) = parse(&names[first], load(first)?)?;
    let first_name = names[first].clone();
    let rest = order[1..].iter().map(move |&i| {
        let (f, doc) = parse(&names[i], load(i)?)?;
        if f != format {
            return Err(MergeError::MixedFormats {
                first: names[first].clone(),
                first_format: format.name(),
                second: names[i].clone(),
                second_format: f.name(),
            });
        }
        Ok((names[i].clone(), doc))
    });
    let docs = std::iter::once(Ok((first_name, first_doc))).chain(rest);
    let text = match format {
        BomFormat::CycloneDx => merge_cyclonedx(docs)?,
        BomFormat::Spdx => merge_spdx(docs)?,
    };
    Ok((format, text))
}

/// The fields that tell the format; every other field is skipped unread.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    bom_format: Option<String>,
    spec_version: Option<String>,
    spdx_version: Option<String>,
}

/// Parses through the typed model (validating the shape) and back to a JSON value whose
/// object keys are in the model's canonical order.
/// The text is dropped once parsed, before the value is built.
fn parse(name: &str, text: String) -> Result<(BomFormat, Value), MergeError> {
    let bad = |message: String| MergeError::Parse {
        file: name.to_string(),
        message,
    };
    let probe: Probe = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if probe.bom_format.as_deref() == Some("CycloneDX") {
        if probe.spec_version.as_deref() != Some("1.6") {
            return Err(bad("only CycloneDX specVersion 1.6 can be merged".into()));
        }
        let mut doc: cdx::CycloneDx =
            serde_json::from_str(&text).map_err(|e| bad(format!("not CycloneDX 1.6: {e}")))?;
        drop(text);
        let components = doc.components.take();
        let mut v = serde_json::to_value(doc).map_err(|e| bad(e.to_string()))?;
        put_list(&mut v, "components", components).map_err(|e| bad(e.to_string()))?;
        Ok((BomFormat::CycloneDx, v))
    } else if probe.spdx_version.as_deref() == Some("SPDX-2.3") {
        let mut doc: spdx::Spdx =
            serde_json::from_str(&text).map_err(|e| bad(format!("not SPDX 2.3: {e}")))?;
        drop(text);
        let (packages, relationships) = (doc.packages.take(), doc.relationships.take());
        let mut v = serde_json::to_value(doc).map_err(|e| bad(e.to_string()))?;
        put_list(&mut v, "packages", packages).map_err(|e| bad(e.to_string()))?;
        put_list(&mut v, "relationships", relationships).map_err(|e| bad(e.to_string()))?;
        Ok((BomFormat::Spdx, v))
    } else {
        Err(bad(
            "neither a CycloneDX 1.6 (bomFormat) nor an SPDX 2.3 (spdxVersion) document".into(),
        ))
    }
}

/// Sets `doc[key]` to the list, converting one element at a time (each typed element is
/// freed as soon as it is converted, so the list is never held twice).
fn put_list<T: serde::Serialize>(
    doc: &mut Value,
    key: &str,
    list: Option<Vec<T>>,
) -> Result<(), serde_json::Error> {
    let Some(list) = list else { return Ok(()) };
    let values = list
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(o) = doc.as_object_mut() {
        o.insert(key.to_string(), Value::Array(values));
    }
    Ok(())
}

/// Canonical text of a value, the sort key of unions.
fn canon(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "nothing".into(),
        other => canon(other),
    }
}

/// A value together with the input that first supplied it.
struct Held {
    value: Value,
    file: String,
}

/// A scalar disagreement found by [`union`], with its path.
struct Disagreement {
    path: String,
    first: Value,
    second: Value,
}

/// Joins `b` into `a`: objects key by key, arrays as a sorted union, scalars must be equal.
fn union(a: &mut Value, b: Value, path: &str) -> Result<(), Box<Disagreement>> {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, bv) in bm {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match am.get_mut(&k) {
                    Some(av) => union(av, bv, &p)?,
                    None => {
                        am.insert(k, bv);
                    }
                }
            }
            Ok(())
        }
        (Value::Array(aa), Value::Array(ba)) => {
            let mut all: BTreeMap<String, Value> = BTreeMap::new();
            for v in aa.drain(..).chain(ba) {
                all.entry(canon(&v)).or_insert(v);
            }
            aa.extend(all.into_values());
            Ok(())
        }
        (a, b) if *a == b => Ok(()),
        (a, b) => Err(Box::new(Disagreement {
            path: path.to_string(),
            first: a.clone(),
            second: b,
        })),
    }
}

/// [`union`] for a held value, naming both files on a disagreement.
fn union_held(held: &mut Held, b: Value, file: &str, subject: &str) -> Result<(), MergeError> {
    union(&mut held.value, b, "").map_err(|d| {
        MergeError::FieldConflict(Box::new(FieldConflict {
            subject: subject.to_string(),
            field: d.path,
            first: held.file.clone(),
            first_value: short(&d.first),
            second: file.to_string(),
            second_value: short(&d.second),
        }))
    })
}

// ---------------------------------------------------------------- CycloneDX

/// Properties written once per component or document (a second value is a conflict);
/// `imagebom:reference` is special: the byte-wise smallest spelling wins.
const SINGLE_VALUED: &[&str] = &[
    "imagebom:normalized",
    "imagebom:resolution",
    "imagebom:media-type",
    "imagebom:signature",
    "imagebom:attestation",
    "imagebom:sbom",
    "imagebom:referrers",
    "imagebom:signed",
    "imagebom:chart-repository",
    "imagebom:chart",
    "imagebom:chart-version",
    "imagebom:chart-pinned",
    "imagebom:namespace",
];

/// The order in which the emitter writes `imagebom:*` properties.
pub(crate) const PROPERTY_ORDER: &[&str] = &[
    "imagebom:reference",
    "imagebom:normalized",
    "imagebom:category",
    "imagebom:occurrence",
    "imagebom:reason",
    "imagebom:resolution",
    "imagebom:media-type",
    "imagebom:platform",
    "imagebom:signature",
    "imagebom:attestation",
    "imagebom:sbom",
    "imagebom:referrers",
    "imagebom:referrer-artifact-type",
    "imagebom:signed",
    "imagebom:signer-identity",
    "imagebom:signer-issuer",
    "imagebom:signer-key-id",
    "imagebom:verification",
    "imagebom:build-builder-id",
    "imagebom:build-type",
    "imagebom:build-source-repository",
    "imagebom:build-source-ref",
    "imagebom:build-source-commit",
    "imagebom:chart-repository",
    "imagebom:chart",
    "imagebom:chart-version",
    "imagebom:chart-pinned",
    "imagebom:namespace",
    "imagebom:manifest",
    "imagebom:warning",
];

/// Category order of the model (`imagebom:category` values and SPDX comments).
const CATEGORY_ORDER: &[&str] = &[
    "pod",
    "cr",
    "cr-triplet",
    "cr-disabled",
    "env",
    "arg",
    "embedded",
    "recipe",
    "declared",
];

pub(crate) fn rank(list: &[&str], s: &str) -> usize {
    list.iter().position(|x| *x == s).unwrap_or(list.len())
}

fn prop_parts(p: &Value) -> (String, String) {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (s("name"), s("value"))
}

/// Union of two property lists in the emitter's order.
fn merge_properties(
    a: Vec<Value>,
    b: Vec<Value>,
    subject: &str,
    files: (&str, &str),
) -> Result<Vec<Value>, MergeError> {
    let first_names: BTreeMap<(String, String), ()> =
        a.iter().map(|p| (prop_parts(p), ())).collect();
    // Platforms keep the index's order when the inputs agree on it (same digest, same index).
    let platforms = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(prop_parts)
            .filter(|(n, _)| n == "imagebom:platform")
            .map(|(_, v)| v)
            .collect()
    };
    let (pa, pb) = (platforms(&a), platforms(&b));
    let platform_order: Option<Vec<String>> = if pb.is_empty() || pa == pb {
        Some(pa)
    } else if pa.is_empty() {
        Some(pb)
    } else {
        None
    };
    let mut all: BTreeMap<String, Value> = BTreeMap::new();
    for p in a.into_iter().chain(b) {
        all.entry(canon(&p)).or_insert(p);
    }
    let mut props: Vec<Value> = all.into_values().collect();
    // The smallest spelling of the reference, as the inventory keeps.
    let smallest = props
        .iter()
        .map(prop_parts)
        .filter(|(n, _)| n == "imagebom:reference")
        .map(|(_, v)| v)
        .min();
    if let Some(smallest) = smallest {
        props.retain(|p| {
            let (n, v) = prop_parts(p);
            n != "imagebom:reference" || v == smallest
        });
    }
    for name in SINGLE_VALUED {
        let values: Vec<String> = props
            .iter()
            .map(prop_parts)
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        if values.len() > 1 {
            let (x, y) = (&values[0], &values[1]);
            // Name the file each value came from.
            let from_first = first_names.contains_key(&(name.to_string(), x.clone()));
            let (fa, fb, va, vb) = if from_first {
                (files.0, files.1, x, y)
            } else {
                (files.0, files.1, y, x)
            };
            return Err(MergeError::FieldConflict(Box::new(FieldConflict {
                subject: subject.to_string(),
                field: format!("property {name}"),
                first: fa.to_string(),
                first_value: format!("{va:?}"),
                second: fb.to_string(),
                second_value: format!("{vb:?}"),
            })));
        }
    }
    props.sort_by_cached_key(|p| {
        let (n, v) = prop_parts(p);
        let value_rank = match (n.as_str(), &platform_order) {
            ("imagebom:category", _) => rank(CATEGORY_ORDER, &v),
            ("imagebom:platform", Some(order)) => order.iter().position(|x| *x == v).unwrap_or(0),
            _ => 0,
        };
        (rank(PROPERTY_ORDER, &n), n, value_rank, v, canon(p))
    });
    Ok(props)
}

fn take_array(v: &mut Value, key: &str) -> Option<Vec<Value>> {
    match v.as_object_mut()?.remove(key)? {
        Value::Array(a) => Some(a),
        other => Some(vec![other]),
    }
}

fn component_key(c: &Value) -> String {
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if let Some(r) = s("bom-ref") {
        return r.to_string();
    }
    if let Some(p) = s("purl") {
        return p.to_string();
    }
    format!(
        "{}/{}@{}",
        s("type").unwrap_or(""),
        s("name").unwrap_or(""),
        s("version").unwrap_or("")
    )
}

fn hashes_text(h: Option<&Value>) -> String {
    let Some(Value::Array(list)) = h else {
        return "no digest".into();
    };
    let mut parts: Vec<String> = list
        .iter()
        .map(|h| {
            let alg = h.get("alg").and_then(Value::as_str).unwrap_or("?");
            let content = h.get("content").and_then(Value::as_str).unwrap_or("?");
            match alg {
                "SHA-256" => format!("sha256:{content}"),
                other => format!("{other}:{content}"),
            }
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// A component being merged: the value without its properties, its properties, and the input
/// that first supplied it.
struct HeldComponent {
    held: Held,
    properties: Option<Vec<Value>>,
}

fn merge_component(
    slot: &mut HeldComponent,
    mut c: Value,
    file: &str,
    key: &str,
) -> Result<(), MergeError> {
    let (ha, hb) = (slot.held.value.get("hashes"), c.get("hashes"));
    if hashes_text(ha) != hashes_text(hb) {
        return Err(MergeError::DigestConflict {
            reference: key.to_string(),
            first: slot.held.file.clone(),
            first_digest: hashes_text(ha),
            second: file.to_string(),
            second_digest: hashes_text(hb),
        });
    }
    let props = take_array(&mut c, "properties");
    slot.properties = match (slot.properties.take(), props) {
        (None, None) => None,
        (a, b) => Some(merge_properties(
            a.unwrap_or_default(),
            b.unwrap_or_default(),
            key,
            (&slot.held.file, file),
        )?),
    };
    union_held(&mut slot.held, c, file, key)
}

fn merge_cyclonedx(
    docs: impl Iterator<Item = Result<(String, Value), MergeError>>,
) -> Result<String, MergeError> {
    let mut top: Option<Held> = None;
    let mut metadata: Option<HeldComponent> = None;
    let mut components: BTreeMap<String, HeldComponent> = BTreeMap::new();
    let mut deps: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)> = BTreeMap::new();
    let mut version: i64 = 1;
    let mut timestamp: Option<String> = None;

    for doc in docs {
        let (file, mut doc) = doc?;
        let obj = doc.as_object_mut().expect("parsed documents are objects");
        obj.remove("serialNumber");
        if let Some(v) = obj.remove("version").and_then(|v| v.as_i64()) {
            version = version.max(v);
        }
        if let Some(Value::Array(list)) = obj.remove("components") {
            for mut c in list {
                let key = component_key(&c);
                let props = take_array(&mut c, "properties");
                match components.get_mut(&key) {
                    Some(slot) => {
                        if let Some(p) = props {
                            c.as_object_mut()
                                .expect("components are objects")
                                .insert("properties".into(), Value::Array(p));
                        }
                        merge_component(slot, c, &file, &key)?;
                    }
                    None => {
                        let props = props
                            .map(|p| merge_properties(p, Vec::new(), &key, (&file, &file)))
                            .transpose()?;
                        components.insert(
                            key,
                            HeldComponent {
                                held: Held {
                                    value: c,
                                    file: file.clone(),
                                },
                                properties: props,
                            },
                        );
                    }
                }
            }
        }
        if let Some(Value::Array(list)) = obj.remove("dependencies") {
            for d in list {
                let Some(r) = d.get("ref").and_then(Value::as_str) else {
                    continue;
                };
                let refs = |k: &str| -> (BTreeSet<String>, bool) {
                    match d.get(k) {
                        Some(Value::Array(a)) => (
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect(),
                            true,
                        ),
                        _ => (BTreeSet::new(), false),
                    }
                };
                let (on, has_on) = refs("dependsOn");
                let (provides, _) = refs("provides");
                let e = deps
                    .entry(r.to_string())
                    .or_insert_with(|| (BTreeSet::new(), BTreeSet::new(), false));
                e.0.extend(on);
                e.1.extend(provides);
                e.2 |= has_on;
            }
        }
        if let Some(mut m) = obj.remove("metadata") {
            if let Some(t) = m.as_object_mut().and_then(|o| o.remove("timestamp")) {
                if let Some(t) = t.as_str() {
                    if timestamp.as_deref().is_none_or(|cur| t > cur) {
                        timestamp = Some(t.to_string());
                    }
                }
            }
            let props = take_array(&mut m, "properties");
            match metadata.as_mut() {
                Some(slot) => {
                    if let Some(p) = props {
                        m.as_object_mut()
                            .expect("metadata is an object")
                            .insert("properties".into(), Value::Array(p));
                    }
                    merge_component(slot, m, &file, "metadata")?;
                }
                None => {
                    let props = props
                        .map(|p| merge_properties(p, Vec::new(), "metadata", (&file, &file)))
                        .transpose()?;
                    metadata = Some(HeldComponent {
                        held: Held {
                            value: m,
                            file: file.clone(),
                        },
                        properties: props,
                    });
                }
            }
        }
        match top.as_mut() {
            Some(held) => union_held(held, doc, &file, "document")?,
            None => top = Some(Held { value: doc, file }),
        }
    }

    let mut top = top.expect("at least one input").value;
    let obj = top.as_object_mut().expect("documents are objects");
    obj.insert("version".into(), Value::from(version));
    let subject = metadata.as_ref().and_then(|m| {
        m.held
            .value
            .get("component")
            .and_then(|c| c.get("bom-ref"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if let Some(m) = metadata {
        let mut v = m.held.value;
        let o = v.as_object_mut().expect("metadata is an object");
        if let Some(t) = timestamp {
            o.insert("timestamp".into(), Value::String(t));
        }
        if let Some(p) = m.properties {
            o.insert("properties".into(), Value::Array(p));
        }
        obj.insert("metadata".into(), v);
    }
    if !components.is_empty() {
        let list: Vec<Value> = components
            .into_values()
            .map(|c| {
                let mut v = c.held.value;
                if let Some(p) = c.properties {
                    v.as_object_mut()
                        .expect("components are objects")
                        .insert("properties".into(), Value::Array(p));
                }
                v
            })
            .collect();
        obj.insert("components".into(), Value::Array(list));
    }
    if !deps.is_empty() {
        let mut list: Vec<(bool, String, Value)> = deps
            .into_iter()
            .map(|(r, (on, provides, has_on))| {
                let mut d = Map::new();
                d.insert("ref".into(), Value::String(r.clone()));
                if has_on || !on.is_empty() {
                    d.insert(
                        "dependsOn".into(),
                        Value::Array(on.into_iter().map(Value::String).collect()),
                    );
                }
                if !provides.is_empty() {
                    d.insert(
                        "provides".into(),
                        Value::Array(provides.into_iter().map(Value::String).collect()),
                    );
                }
                (Some(&r) != subject.as_ref(), r, Value::Object(d))
            })
            .collect();
        list.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        obj.insert(
            "dependencies".into(),
            Value::Array(list.into_iter().map(|(_, _, d)| d).collect()),
        );
    }

    let err = |e: serde_json::Error| MergeError::Serialize {
        format: "CycloneDX",
        message: e.to_string(),
    };
    let mut doc: cdx::CycloneDx = serde_json::from_value(top).map_err(err)?;
    doc.serial_number = None;
    // The compact text is only hashed: dropped before the pretty one is built.
    let uuid = content_uuid(&serde_json::to_vec(&doc).map_err(err)?);
    doc.serial_number = Some(format!("urn:uuid:{uuid}"));
    let mut text = serde_json::to_string_pretty(&doc).map_err(err)?;
    text.push('\n');
    Ok(text)
}

// ---------------------------------------------------------------- SPDX

/// `reference: KEY; found as: a, b` (the emitter's image comment).
fn parse_image_comment(c: &str) -> Option<(&str, Vec<&str>)> {
    let rest = c.strip_prefix("reference: ")?;
    let (key, cats) = rest.split_once("; found as: ")?;
    Some((key, cats.split(", ").filter(|s| !s.is_empty()).collect()))
}

/// Joins the comments of one image package seen in two inputs: imagebom's
/// `reference: …; found as: …` comments take the union of the categories.
fn merge_comment(a: &Value, b: &Value) -> Option<Value> {
    let (ka, ca) = parse_image_comment(a.as_str()?)?;
    let (kb, cb) = parse_image_comment(b.as_str()?)?;
    if ka != kb {
        return None;
    }
    let mut cats: Vec<&str> = ca.into_iter().chain(cb).collect();
    cats.sort_by_key(|c| (rank(CATEGORY_ORDER, c), *c));
    cats.dedup();
    Some(Value::String(format!(
        "reference: {ka}; found as: {}",
        cats.join(", ")
    )))
}

fn checksums_text(c: Option<&Value>) -> String {
    let Some(Value::Array(list)) = c else {
        return "no digest".into();
    };
    let mut parts: Vec<String> = list
        .iter()
        .map(|c| {
            let alg = c.get("algorithm").and_then(Value::as_str).unwrap_or("?");
            let v = c
                .get("checksumValue")
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{}:{v}", alg.to_ascii_lowercase())
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// Splits `…-<uuid>` off a document namespace.
fn namespace_base(ns: &str) -> &str {
    if ns.len() > 37 {
        let (base, tail) = ns.split_at(ns.len() - 37);
        if tail.starts_with('-') && uuid::Uuid::parse_str(&tail[1..]).is_ok() {
            return base;
        }
    }
    ns
}

fn merge_spdx(
    docs: impl Iterator<Item = Result<(String, Value), MergeError>>,
) -> Result<String, MergeError> {
    let mut top: Option<Held> = None;
    let mut packages: BTreeMap<String, Held> = BTreeMap::new();
    let mut relationships: BTreeMap<String, Value> = BTreeMap::new();
    let mut created: Option<String> = None;
    let mut creators: BTreeSet<String> = BTreeSet::new();
    let mut base: Option<(String, String)> = None;

    for doc in docs {
        let (file, mut doc) = doc?;
        let obj = doc.as_object_mut().expect("parsed documents are objects");
        if let Some(Value::String(ns)) = obj.remove("documentNamespace") {
            let b = namespace_base(&ns).to_string();
            match &base {
                Some((cur, first)) if *cur != b => {
                    return Err(MergeError::FieldConflict(Box::new(FieldConflict {
                        subject: "document".into(),
                        field: "documentNamespace".into(),
                        first: first.clone(),
                        first_value: format!("{cur:?}"),
                        second: file.clone(),
                        second_value: format!("{b:?}"),
                    })))
                }
                Some(_) => {}
                None => base = Some((b, file.clone())),
            }
        }
        if let Some(mut ci) = obj.remove("creationInfo") {
            if let Some(Value::String(t)) = ci.get("created") {
                if created.as_deref().is_none_or(|cur| t.as_str() > cur) {
                    created = Some(t.clone());
                }
            }
            if let Some(list) = take_array(&mut ci, "creators") {
                creators.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
            if let Some(o) = ci.as_object_mut() {
                o.remove("created");
                obj.insert("creationInfo".into(), ci);
            }
        }
        if let Some(Value::Array(list)) = obj.remove("packages") {
            for mut p in list {
                let id = p
                    .get("SPDXID")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match packages.get_mut(&id) {
                    Some(held) => {
                        let (ca, cb) = (held.value.get("checksums"), p.get("checksums"));
                        if checksums_text(ca) != checksums_text(cb) {
                            return Err(MergeError::DigestConflict {
                                reference: p
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .map(|n| format!("{n} ({id})"))
                                    .unwrap_or(id),
                                first: held.file.clone(),
                                first_digest: checksums_text(ca),
                                second: file.clone(),
                                second_digest: checksums_text(cb),
                            });
                        }
                        if let (Some(a), Some(b)) = (held.value.get("comment"), p.get("comment")) {
                            if let Some(joined) = merge_comment(a, b) {
                                held.value["comment"] = joined.clone();
                                p["comment"] = joined;
                            }
                        }
                        union_held(held, p, &file, &id)?;
                    }
                    None => {
                        packages.insert(
                            id,
                            Held {
                                value: p,
                                file: file.clone(),
                            },
                        );
                    }
                }
            }
        }
        if let Some(Value::Array(list)) = obj.remove("relationships") {
            for r in list {
                relationships.entry(canon(&r)).or_insert(r);
            }
        }
        match top.as_mut() {
            Some(held) => union_held(held, doc, &file, "document")?,
            None => top = Some(Held { value: doc, file }),
        }
    }

    let mut top = top.expect("at least one input").value;
    let obj = top.as_object_mut().expect("documents are objects");
    let mut ci = obj
        .remove("creationInfo")
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(o) = ci.as_object_mut() {
        if let Some(c) = created {
            o.insert("created".into(), Value::String(c));
        }
        let mut list: Vec<String> = creators.into_iter().collect();
        let kind = |c: &str| match c.split(':').next().unwrap_or("") {
            "Tool" => 0,
            "Organization" => 1,
            "Person" => 2,
            _ => 3,
        };
        list.sort_by(|a, b| (kind(a), a).cmp(&(kind(b), b)));
        o.insert(
            "creators".into(),
            Value::Array(list.into_iter().map(Value::String).collect()),
        );
    }
    obj.insert("creationInfo".into(), ci);

    let rel_parts = |r: &Value| -> (String, String, String) {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (
            s("spdxElementId"),
            s("relationshipType"),
            s("relatedSpdxElement"),
        )
    };
    let described: BTreeSet<String> = relationships
        .values()
        .map(rel_parts)
        .filter(|(e, t, _)| e == "SPDXRef-DOCUMENT" && t == "DESCRIBES")
        .map(|(_, _, r)| r)
        .collect();
    if !packages.is_empty() {
        let mut list: Vec<(bool, String, Value)> = packages
            .into_iter()
            .map(|(id, h)| (!described.contains(&id), id, h.value))
            .collect();
        list.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        obj.insert(
            "packages".into(),
            Value::Array(list.into_iter().map(|(_, _, v)| v).collect()),
        );
    }
    if !relationships.is_empty() {
        let mut list: Vec<Value> = relationships.into_values().collect();
        list.sort_by_cached_key(|r| {
            let (e, t, rel) = rel_parts(r);
            (!(e == "SPDXRef-DOCUMENT" && t == "DESCRIBES"), e, t, rel)
        });
        obj.insert("relationships".into(), Value::Array(list));
    }

    let err = |e: serde_json::Error| MergeError::Serialize {
        format: "SPDX",
        message: e.to_string(),
    };
    let base = base.map(|(b, _)| b).unwrap_or_default();
    obj.insert("documentNamespace".into(), Value::String(base.clone()));
    let mut doc: spdx::Spdx = serde_json::from_value(top).map_err(err)?;
    let uuid = content_uuid(&serde_json::to_vec(&doc).map_err(err)?);
    doc.document_namespace = format!("{base}-{uuid}");
    let mut text = serde_json::to_string_pretty(&doc).map_err(err)?;
    text.push('\n');
    Ok(text)
}
