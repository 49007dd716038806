//! Admission policies that enforce the BOM at deploy time: Kyverno `ClusterPolicy`
//! (`verifyImages`) and Sigstore policy-controller `ClusterImagePolicy`.
//!
//! Images are grouped by the trust policy the recipe gives them (its identities, keys and
//! provenance requirement): one Kyverno rule, or one `ClusterImagePolicy`, per group, in recipe
//! component order. Each group lists its images as **repository patterns**, not exact
//! references: a signature covers a digest, and the admission controller rewrites tags to
//! digests (`mutateDigest`), so a pattern per tag would stop matching the rewritten spelling.
//! Kyverno gets `<repository>:*` and `<repository>@*` (its `*` crosses every character; a Docker
//! Hub official image also gets its `docker.io/<name>` spelling, the one Kyverno prints);
//! policy-controller gets `<repository>:**` and `<repository>*sha256:**` (its glob alphabet has
//! no `@`, so `*` stands for it; its Docker Hub host is `index.docker.io`).
//!
//! Images without a signer in the recipe (only an `owner` or an `admissionPolicy`, or nothing)
//! are not enforced: they are listed with their reason in a comment block at the top and in the
//! `imagebom.dev/not-enforced` annotation of every policy, never dropped silently.

use crate::EmitError;
use imagebom_model::{
    ImageRef, Inventory, ProvenanceRequirement, TrustPolicy, TrustedIdentity, TrustedKey,
};
use serde_json::{json, Map, Value};

/// Rekor, the public-good transparency log.
pub const REKOR_URL: &str = "https://rekor.sigstore.dev";
/// Fulcio, the public-good certificate authority.
pub const FULCIO_URL: &str = "https://fulcio.sigstore.dev";
/// SLSA provenance v0.2, whose builder sits at `builder.id`.
const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";

/// Which admission controller to write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionFormat {
    /// Kyverno `kyverno.io/v1` `ClusterPolicy`.
    Kyverno,
    /// Sigstore policy-controller `policy.sigstore.dev/v1beta1` `ClusterImagePolicy`.
    PolicyController,
}

/// Settings of the written policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionOptions {
    /// `metadata.name` (policy-controller: the prefix of every policy's name).
    pub name: String,
    /// Kyverno `failureAction`: `Enforce` or `Audit`.
    pub audit: bool,
}

/// The policy of a component without one.
static NO_POLICY: TrustPolicy = TrustPolicy {
    identities: Vec::new(),
    keys: Vec::new(),
    provenance: None,
    owner: None,
    admission_policy: None,
};

/// Images sharing one trust policy.
struct Group<'a> {
    components: Vec<String>,
    policy: &'a TrustPolicy,
    images: Vec<&'a ImageRef>,
}

/// The signer part of a policy, which groups images.
fn signers(
    p: &TrustPolicy,
) -> (
    &[TrustedIdentity],
    &[TrustedKey],
    &Option<ProvenanceRequirement>,
) {
    (&p.identities, &p.keys, &p.provenance)
}

/// Groups the inventory's images by trust policy; the rest come back with their reasons.
fn group(inv: &Inventory) -> (Vec<Group<'_>>, Vec<String>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut skipped = Vec::new();
    for c in &inv.components {
        for (_, e) in inv.images_of(&c.name) {
            let policy = c
                .trust
                .as_ref()
                .map_or(&NO_POLICY, |t| t.policy_for(&e.reference));
            let image = e.reference.normalized();
            if !policy.verifies() {
                skipped.push(format!(
                    "{image}: component {:?}: {}",
                    c.name,
                    reason(policy)
                ));
                continue;
            }
            let at = groups
                .iter()
                .position(|g| signers(g.policy) == signers(policy));
            let g = match at {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(Group {
                        components: Vec::new(),
                        policy,
                        images: Vec::new(),
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if !g.components.contains(&c.name) {
                g.components.push(c.name.clone());
            }
            if !g
                .images
                .iter()
                .any(|r| r.qualified_name() == e.reference.qualified_name())
            {
                g.images.push(&e.reference);
            }
        }
    }
    for (key, _) in inv.orphans() {
        skipped.push(format!("{key}: in no recipe component"));
    }
    skipped.sort();
    skipped.dedup();
    (groups, skipped)
}

/// How many distinct images the not-enforced lines (`<image>: <why>`) name.
fn distinct(skipped: &[String]) -> usize {
    let mut images: Vec<&str> = skipped
        .iter()
        .map(|l| l.split_once(": ").map_or(l.as_str(), |(i, _)| i))
        .collect();
    images.dedup();
    images.len()
}

/// Why an image without signers is not enforced.
fn reason(p: &TrustPolicy) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &p.owner {
        parts.push(format!("owner {o}"));
    }
    if let Some(a) = &p.admission_policy {
        parts.push(format!("covered by {} {}", a.kind, a.name));
    }
    if parts.is_empty() {
        "no trusted signer in the recipe (no owner, no admission policy)".into()
    } else {
        format!("no trusted signer in the recipe; {}", parts.join("; "))
    }
}

/// The admission policy for `inv` in `format`: YAML, byte-identical for the same inventory.
pub fn admission_policy(
    inv: &Inventory,
    format: AdmissionFormat,
    opts: &AdmissionOptions,
) -> Result<String, EmitError> {
    let (groups, skipped) = group(inv);
    if groups.is_empty() {
        return Err(EmitError::NothingToEnforce {
            skipped: distinct(&skipped),
        });
    }
    let docs = match format {
        AdmissionFormat::Kyverno => vec![kyverno(&groups, &skipped, opts)],
        AdmissionFormat::PolicyController => groups
            .iter()
            .enumerate()
            .map(|(i, g)| cluster_image_policy(i, g, &skipped, opts))
            .collect(),
    };
    let mut out = header(inv, &groups, &skipped);
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(
            &serde_yaml_ng::to_string(d).map_err(|e| EmitError::Serialize {
                format: "admission policy",
                message: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

fn header(inv: &Inventory, groups: &[Group], skipped: &[String]) -> String {
    let enforced: usize = groups.iter().map(|g| g.images.len()).sum();
    let mut s = format!(
        "# Admission policy for recipe {} {}, written by imagebom from its BOM.\n# {enforced} repositories enforced, {} image(s) not enforced.\n",
        inv.recipe.name,
        inv.recipe.version,
        distinct(skipped)
    );
    if !skipped.is_empty() {
        s.push_str("# Not enforced (no signer in the recipe's trust policy):\n");
        for line in skipped {
            s.push_str(&format!("#   {line}\n"));
        }
    }
    s
}

fn metadata(name: &str, skipped: &[String]) -> Value {
    let mut annotations = Map::new();
    annotations.insert("imagebom.dev/generated-by".into(), json!("imagebom"));
    if !skipped.is_empty() {
        annotations.insert(
            "imagebom.dev/not-enforced".into(),
            json!(not_enforced(skipped)),
        );
    }
    json!({ "name": name, "annotations": annotations })
}

/// Largest `imagebom.dev/not-enforced` value: Kubernetes caps all annotations of an object at
/// 256 KiB together.
const MAX_NOTE_BYTES: usize = 64 << 10;

/// The not-enforced lines for the annotation, cut at [`MAX_NOTE_BYTES`] with a count of the rest
/// (the header comment always lists every one).
fn not_enforced(skipped: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in skipped.iter().enumerate() {
        if out.len() + line.len() + 1 > MAX_NOTE_BYTES {
            out.push_str(&format!(
                "… and {} more, listed in the policy file's header comment\n",
                skipped.len() - i
            ));
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A DNS-1123 label from `s`, at most `max` characters.
fn label(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(max);
    out.trim_matches('-').to_string()
}

/// The Kyverno (`docker.io/<path>`) spellings of a repository.
fn kyverno_names(r: &ImageRef) -> Vec<String> {
    let q = r.qualified_name();
    match q.strip_prefix("docker.io/library/") {
        Some(short) => vec![q.clone(), format!("docker.io/{short}")],
        None => vec![q],
    }
}

/// `^…$` matching exactly `s`.
fn exact_regexp(s: &str) -> String {
    let mut out = String::from("^");
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// Kyverno's `subject`/`issuer` take `*` and `?` as wildcards: an exact value holding one is
/// written as an anchored, escaped `…RegExp` so it stays exact.
fn kyverno_match(
    k: &mut Map<String, Value>,
    field: &str,
    exact: &Option<String>,
    re: &Option<String>,
) {
    match (exact, re) {
        (Some(s), _) if s.contains(['*', '?']) => {
            k.insert(format!("{field}RegExp"), json!(exact_regexp(s)));
        }
        (Some(s), _) => {
            k.insert(field.into(), json!(s));
        }
        (None, Some(r)) => {
            k.insert(format!("{field}RegExp"), json!(r));
        }
        (None, None) => {}
    }
}

fn kyverno_identity(id: &TrustedIdentity) -> Value {
    let mut k = Map::new();
    kyverno_match(&mut k, "subject", &id.subject, &id.subject_reg_exp);
    kyverno_match(&mut k, "issuer", &id.issuer, &id.issuer_reg_exp);
    k.insert("rekor".into(), json!({ "url": REKOR_URL }));
    json!({ "keyless": k })
}

fn kyverno_attestors(p: &TrustPolicy) -> Value {
    let mut entries: Vec<Value> = p.identities.iter().map(kyverno_identity).collect();
    entries.extend(
        p.keys
            .iter()
            .map(|k| json!({ "keys": { "publicKeys": k.pem } })),
    );
    json!([{ "count": 1, "entries": entries }])
}

fn kyverno_rule(name: String, g: &Group, opts: &AdmissionOptions) -> Value {
    let mut refs = Vec::new();
    for r in &g.images {
        for n in kyverno_names(r) {
            refs.push(format!("{n}:*"));
            refs.push(format!("{n}@*"));
        }
    }
    let mut verify = Map::new();
    verify.insert("imageReferences".into(), json!(refs));
    verify.insert(
        "failureAction".into(),
        json!(if opts.audit { "Audit" } else { "Enforce" }),
    );
    verify.insert("verifyDigest".into(), json!(true));
    verify.insert("mutateDigest".into(), json!(true));
    verify.insert("required".into(), json!(true));
    verify.insert("attestors".into(), kyverno_attestors(g.policy));
    if let Some(p) = &g.policy.provenance {
        let mut att = json!({ "type": p.predicate_type, "attestors": kyverno_attestors(g.policy) });
        if let Some(b) = &p.builder_id {
            let key = if p.predicate_type == SLSA_V02 {
                "{{ builder.id }}"
            } else {
                "{{ runDetails.builder.id }}"
            };
            att["conditions"] =
                json!([{ "all": [{ "key": key, "operator": "Equals", "value": b }] }]);
        }
        verify.insert("attestations".into(), json!([att]));
    }
    json!({
        "name": name,
        "match": { "any": [{ "resources": { "kinds": ["Pod"] } }] },
        "verifyImages": [verify],
    })
}

/// Unique rule or policy names: `verify-<components>`, numbered on collision.
fn names(groups: &[Group], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        let base = label(&format!("verify-{}", g.components.join("-")), max - 3);
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

fn kyverno(groups: &[Group], skipped: &[String], opts: &AdmissionOptions) -> Value {
    let rules: Vec<Value> = names(groups, 63)
        .into_iter()
        .zip(groups)
        .map(|(n, g)| kyverno_rule(n, g, opts))
        .collect();
    json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": metadata(&label(&opts.name, 253), skipped),
        "spec": {
            "background": false,
            "webhookTimeoutSeconds": 30,
            "rules": rules,
        },
    })
}

/// policy-controller's spelling of a repository (`index.docker.io` for Docker Hub).
fn pc_name(r: &ImageRef) -> String {
    let q = r.qualified_name();
    match q.strip_prefix("docker.io/") {
        Some(rest) => format!("index.docker.io/{rest}"),
        None => q,
    }
}

fn pc_attestations(p: &TrustPolicy) -> Option<Value> {
    let prov = p.provenance.as_ref()?;
    let mut att = json!({ "name": "slsa-provenance", "predicateType": prov.predicate_type });
    if let Some(b) = &prov.builder_id {
        let quoted = serde_json::to_string(b).unwrap_or_default();
        let data = if prov.predicate_type == SLSA_V02 {
            format!("predicate: builder: id: {quoted}\n")
        } else {
            format!("predicate: runDetails: builder: id: {quoted}\n")
        };
        att["policy"] = json!({ "type": "cue", "data": data });
    }
    Some(json!([att]))
}

fn cluster_image_policy(i: usize, g: &Group, skipped: &[String], opts: &AdmissionOptions) -> Value {
    let mut images = Vec::new();
    for r in &g.images {
        let n = pc_name(r);
        images.push(json!({ "glob": format!("{n}:**") }));
        images.push(json!({ "glob": format!("{n}*sha256:**") }));
    }
    let attestations = pc_attestations(g.policy);
    let mut authorities = Vec::new();
    if !g.policy.identities.is_empty() {
        let ids: Vec<Value> = g
            .policy
            .identities
            .iter()
            .map(|id| {
                let mut m = Map::new();
                for (k, v) in [
                    ("issuer", &id.issuer),
                    ("issuerRegExp", &id.issuer_reg_exp),
                    ("subject", &id.subject),
                    ("subjectRegExp", &id.subject_reg_exp),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                Value::Object(m)
            })
            .collect();
        let mut a = json!({
            "name": "keyless",
            "keyless": { "url": FULCIO_URL, "identities": ids },
            "ctlog": { "url": REKOR_URL },
        });
        if let Some(att) = &attestations {
            a["attestations"] = att.clone();
        }
        authorities.push(a);
    }
    for (k, key) in g.policy.keys.iter().enumerate() {
        let mut a = json!({
            "name": format!("key-{}", k + 1),
            "key": { "data": key.pem, "hashAlgorithm": "sha256" },
            "ctlog": { "url": REKOR_URL },
        });
        if let Some(att) = &attestations {
            a["attestations"] = att.clone();
        }
        authorities.push(a);
    }
    let name = names(std::slice::from_ref(g), 200).remove(0);
    let name = label(&format!("{}-{name}-{}", opts.name, i + 1), 253);
    json!({
        "apiVersion": "policy.sigstore.dev/v1beta1",
        "kind": "ClusterImagePolicy",
        "metadata": metadata(&name, skipped),
        "spec": { "images": images, "authorities": authorities },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{
        Category, ComponentInfo, ComponentTrust, ImageTrust, Occurrence, TrustPolicy,
    };

    fn inv() -> Inventory {
        let id = TrustedIdentity {
            issuer: Some("https://accounts.google.com".into()),
            subject: Some("ci*@example.com".into()),
            ..Default::default()
        };
        let signed = TrustPolicy {
            identities: vec![id],
            ..Default::default()
        };
        let mut inv = Inventory::default();
        for (name, refs) in [
            ("a", ["ghcr.io/x/one:1", "busybox:1"]),
            ("b", ["ghcr.io/x/two:2", "ghcr.io/x/one:1"]),
        ] {
            inv.components.push(ComponentInfo {
                name: name.into(),
                display_name: None,
                namespace: None,
                chart: None,
                manifests: vec![],
                trust: Some(ComponentTrust {
                    policy: signed.clone(),
                    images: vec![ImageTrust {
                        pattern: "docker.io/**".into(),
                        policy: TrustPolicy::default(),
                    }],
                }),
            });
            for r in refs {
                inv.add(
                    ImageRef::parse(r).unwrap(),
                    Occurrence {
                        component: name.into(),
                        source: "m.yaml".into(),
                        kind: "Pod".into(),
                        name: "p".into(),
                        path: "x".into(),
                        line: None,
                        category: Category::Pod,
                        original: r.into(),
                        reason: None,
                    },
                );
            }
        }
        inv
    }

    #[test]
    fn one_rule_per_trust_policy_exact_subjects_stay_exact() {
        let opts = AdmissionOptions {
            name: "Demo Policy".into(),
            audit: true,
        };
        let text = admission_policy(&inv(), AdmissionFormat::Kyverno, &opts).unwrap();
        assert_eq!(
            text,
            admission_policy(&inv(), AdmissionFormat::Kyverno, &opts).unwrap()
        );
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(doc["metadata"]["name"], "demo-policy");
        let rules = doc["spec"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1, "both components share one trust policy");
        assert_eq!(rules[0]["name"], "verify-a-b");
        let v = &rules[0]["verifyImages"][0];
        assert_eq!(v["failureAction"], "Audit");
        assert_eq!(
            v["imageReferences"],
            json!([
                "ghcr.io/x/one:*",
                "ghcr.io/x/one@*",
                "ghcr.io/x/two:*",
                "ghcr.io/x/two@*"
            ])
        );
        let k = &v["attestors"][0]["entries"][0]["keyless"];
        assert_eq!(k["subjectRegExp"], "^ci\\*@example\\.com$");
        assert!(k.get("subject").is_none());
        assert!(
            text.contains("#   docker.io/library/busybox:1: component \"a\": no trusted signer")
        );
        let pc = admission_policy(&inv(), AdmissionFormat::PolicyController, &opts).unwrap();
        let doc: Value = serde_yaml_ng::from_str(&pc).unwrap();
        assert_eq!(
            doc["spec"]["authorities"][0]["keyless"]["identities"][0]["subject"],
            "ci*@example.com"
        );
    }

    #[test]
    fn long_not_enforced_lists_are_cut_in_the_annotation_only() {
        let lines: Vec<String> = (0..5000)
            .map(|i| format!("r.example/img-{i:05}:1: component \"c\": why"))
            .collect();
        let note = not_enforced(&lines);
        assert!(note.len() <= MAX_NOTE_BYTES + 100);
        assert!(
            note.ends_with("more, listed in the policy file's header comment\n"),
            "{}",
            &note[note.len() - 80..]
        );
        assert_eq!(
            not_enforced(&lines[..2]),
            format!("{}\n{}\n", lines[0], lines[1])
        );
    }

    #[test]
    fn nothing_to_enforce() {
        let mut i = inv();
        for c in &mut i.components {
            c.trust = None;
        }
        let opts = AdmissionOptions {
            name: "x".into(),
            audit: false,
        };
        let e = admission_policy(&i, AdmissionFormat::Kyverno, &opts).unwrap_err();
        assert!(e.to_string().contains("3 image(s) not enforced"), "{e}");
    }
}
