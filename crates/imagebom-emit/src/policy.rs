//! Release gates: policy rules over an inventory, with findings for people and SARIF.
//!
//! | rule | default | finding |
//! |---|---|---|
//! | `chart-pinned` | error | a chart version that is empty, `latest`, a bare `v`, or a range |
//! | `digest-pinned` | error | an image whose reference is not pinned by `sha256:` + 64 hex (unless exempted) |
//! | `no-tag-or-digest` | error | an image with neither tag nor digest (implicitly `latest`) |
//! | `stale-exemption` | warning | an exemption that matches no image |
//! | `latest-tag` | off | an image tagged `latest` |
//! | `registry-allowlist` | off (on when a list is given) | an image from a registry not on the list |
//! | `signature-verified` | error (on when the recipe has a trust policy) | a signature or attestation that failed verification; a verified signature by a signer the recipe does not trust; a signature never checked (unknown: a warning at most) |
//! | `signature-covered` | warning (on when the recipe has a trust policy) | an image without a verified signature from a trusted signer and with neither an `owner` nor an `admissionPolicy` |
//!
//! The signature rules read the lock's verification record
//! ([`imagebom_model::SignatureVerdict`]) against the recipe's trust policy
//! ([`imagebom_model::TrustPolicy`]); naming them in the policy configuration turns them on for a
//! recipe without one.
//!
//! Only images a workload or custom resource declares (and recipe images) are gated; images seen
//! only in env values, args, embedded documents or a chart's `Chart.yaml` annotations are
//! evidence, not deployments.

use imagebom_model::{
    ImageEntry, ImageRef, Inventory, SignatureKind, SignatureVerdict, TrustPolicy, Verdict,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A policy rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Chart versions are exact.
    ChartPinned,
    /// Image references carry a sha256 digest.
    DigestPinned,
    /// Image references carry a tag or a digest.
    NoTagOrDigest,
    /// Every exemption still matches an image.
    StaleExemption,
    /// No image is tagged `latest`.
    LatestTag,
    /// Images come from allowed registries.
    RegistryAllowlist,
    /// Signatures verify, by a signer the recipe trusts.
    SignatureVerified,
    /// Images without a trusted signature have an owner or an admission policy.
    SignatureCovered,
}

impl Rule {
    /// All rules.
    pub const ALL: [Rule; 8] = [
        Rule::ChartPinned,
        Rule::DigestPinned,
        Rule::NoTagOrDigest,
        Rule::StaleExemption,
        Rule::LatestTag,
        Rule::RegistryAllowlist,
        Rule::SignatureVerified,
        Rule::SignatureCovered,
    ];

    /// The rule's id (`digest-pinned`).
    pub fn id(self) -> &'static str {
        match self {
            Rule::ChartPinned => "chart-pinned",
            Rule::DigestPinned => "digest-pinned",
            Rule::NoTagOrDigest => "no-tag-or-digest",
            Rule::StaleExemption => "stale-exemption",
            Rule::LatestTag => "latest-tag",
            Rule::RegistryAllowlist => "registry-allowlist",
            Rule::SignatureVerified => "signature-verified",
            Rule::SignatureCovered => "signature-covered",
        }
    }

    /// One line on what the rule asks.
    pub fn description(self) -> &'static str {
        match self {
            Rule::ChartPinned => "Chart versions are exact semantic versions",
            Rule::DigestPinned => "Image references are pinned by sha256 digest (or exempted)",
            Rule::NoTagOrDigest => "Image references carry a tag or a digest",
            Rule::StaleExemption => "Every digest-pin exemption still matches an image",
            Rule::LatestTag => "No image is tagged latest",
            Rule::RegistryAllowlist => "Images come from allowed registries",
            Rule::SignatureVerified => {
                "Image signatures verify, by a signer the recipe trusts (never-checked ones are reported)"
            }
            Rule::SignatureCovered => {
                "Images without a trusted signature have an owner or a deploy-time admission policy"
            }
        }
    }

    fn default_severity(self) -> Severity {
        match self {
            Rule::ChartPinned
            | Rule::DigestPinned
            | Rule::NoTagOrDigest
            | Rule::SignatureVerified => Severity::Error,
            Rule::StaleExemption | Rule::SignatureCovered => Severity::Warning,
            Rule::LatestTag | Rule::RegistryAllowlist => Severity::Off,
        }
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the gate.
    Error,
    /// Reported, does not fail.
    Warning,
    /// Not checked.
    Off,
}

/// Policy configuration (a YAML file: `rules: {latest-tag: error}`, `allowedRegistries: [...]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyConfig {
    /// Severity per rule; rules not named keep their default.
    #[serde(default)]
    pub rules: BTreeMap<Rule, Severity>,
    /// Allowed registries; non-empty turns `registry-allowlist` on (as an error) unless
    /// configured otherwise.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
}

impl PolicyConfig {
    /// The severity of `rule` under this configuration.
    pub fn severity(&self, rule: Rule) -> Severity {
        if let Some(s) = self.rules.get(&rule) {
            return *s;
        }
        if rule == Rule::RegistryAllowlist && !self.allowed_registries.is_empty() {
            return Severity::Error;
        }
        rule.default_severity()
    }
}

/// A recipe exemption from the digest-pin rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    /// The reference it covers (a repository without tag covers every tag of it).
    pub reference: String,
    /// Why.
    pub reason: String,
    /// Tracking link.
    pub tracking: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Its severity.
    pub severity: Severity,
    /// File the finding points at (manifest, template or recipe).
    pub file: String,
    /// 1-based line in `file`, when known.
    pub line: Option<usize>,
    /// The image or chart concerned.
    pub subject: String,
    /// What is wrong.
    pub message: String,
}

fn covers(ex: &Exemption, image: &ImageRef) -> bool {
    match ImageRef::parse(&ex.reference) {
        Ok(e) if e.tag().is_none() && e.digest().is_none() => {
            e.qualified_name() == image.qualified_name()
        }
        Ok(e) => e.normalized() == image.normalized(),
        Err(_) => false,
    }
}

fn declared(e: &ImageEntry) -> Option<&imagebom_model::Occurrence> {
    e.occurrences.iter().find(|o| o.category.is_direct())
}

/// Checks `inv` against the rules; `recipe` is the recipe file (for chart and exemption
/// findings). Findings are sorted; lines are left for the caller to fill.
pub fn check(
    inv: &Inventory,
    recipe: &str,
    exemptions: &[Exemption],
    config: &PolicyConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |rule: Rule, file: &str, subject: String, message: String| {
        let severity = config.severity(rule);
        if severity != Severity::Off {
            out.push(Finding {
                rule,
                severity,
                file: file.to_string(),
                line: None,
                subject,
                message,
            });
        }
    };
    for c in &inv.components {
        if let Some(ch) = &c.chart {
            if !ch.pinned {
                push(
                    Rule::ChartPinned,
                    recipe,
                    format!("{}/{}", c.name, ch.chart),
                    format!(
                        "component {:?}: chart {} version {:?} is not an exact version",
                        c.name, ch.chart, ch.version
                    ),
                );
            }
        }
    }
    let mut used = vec![false; exemptions.len()];
    for e in inv.images.values() {
        let Some(o) = declared(e) else { continue };
        let r = &e.reference;
        let subject = r.original().to_string();
        let exempt = exemptions
            .iter()
            .enumerate()
            .find(|(_, x)| covers(x, r))
            .map(|(i, _)| i);
        if let Some(i) = exempt {
            used[i] = true;
        }
        match r.digest() {
            Some(d) if d.is_sha256() => {}
            Some(d) if exempt.is_none() => push(
                Rule::DigestPinned,
                &o.source,
                subject.clone(),
                format!("{subject} is pinned by {}, not sha256", d.algorithm()),
            ),
            None if exempt.is_none() => push(
                Rule::DigestPinned,
                &o.source,
                subject.clone(),
                format!("{subject} is not pinned by a sha256 digest and has no exemption"),
            ),
            _ => {}
        }
        if r.is_implicit_latest() {
            push(
                Rule::NoTagOrDigest,
                &o.source,
                subject.clone(),
                format!("{subject} has neither tag nor digest (implicitly latest)"),
            );
        }
        if r.tag() == Some("latest") {
            push(
                Rule::LatestTag,
                &o.source,
                subject.clone(),
                format!("{subject} uses the latest tag"),
            );
        }
        if !config.allowed_registries.is_empty()
            && !config.allowed_registries.iter().any(|a| a == r.registry())
        {
            push(
                Rule::RegistryAllowlist,
                &o.source,
                subject.clone(),
                format!(
                    "{subject} comes from {}, which is not allowed",
                    r.registry()
                ),
            );
        }
    }
    for (x, used) in exemptions.iter().zip(used) {
        if !used {
            push(
                Rule::StaleExemption,
                recipe,
                x.reference.clone(),
                format!(
                    "exemption for {} matches no image (tracking {})",
                    x.reference, x.tracking
                ),
            );
        }
    }
    let trust_declared = inv.components.iter().any(|c| c.trust.is_some());
    for rule in [Rule::SignatureVerified, Rule::SignatureCovered] {
        if !trust_declared && !config.rules.contains_key(&rule) {
            continue;
        }
        let severity = config.severity(rule);
        if severity != Severity::Off {
            out.extend(signature_findings(inv, rule, severity));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What the verification record says about one image under one trust policy.
#[derive(Debug, Default)]
struct SignatureState {
    /// A verified signature by a trusted signer.
    trusted: bool,
    /// Signatures and attestations that failed, with why.
    failed: Vec<String>,
    /// Verified signers the policy does not trust.
    untrusted: Vec<String>,
    /// `None`: never verified; `Some(n)`: n signatures found.
    found: Option<usize>,
}

fn matcher(exact: &Option<String>, re: &Option<String>) -> Option<imagebom_verify::Matcher> {
    match (exact, re) {
        (Some(s), _) => Some(imagebom_verify::Matcher::Exact(s.clone())),
        (None, Some(r)) => imagebom_verify::Matcher::regex(r).ok(),
        (None, None) => None,
    }
}

/// Whether `v` (a verified signature) was made by a signer `policy` trusts.
fn trusts(policy: &TrustPolicy, v: &SignatureVerdict) -> bool {
    if let Some(k) = &v.key_id {
        return policy.keys.iter().any(|t| t.key_id.eq_ignore_ascii_case(k));
    }
    let (Some(subject), Some(issuer)) = (&v.subject, &v.issuer) else {
        return false;
    };
    policy.identities.iter().any(|id| {
        let s = matcher(&id.subject, &id.subject_reg_exp);
        let i = matcher(&id.issuer, &id.issuer_reg_exp);
        s.is_some_and(|m| m.matches(subject)) && i.is_some_and(|m| m.matches(issuer))
    })
}

fn signer_of(v: &SignatureVerdict) -> String {
    match (&v.key_id, &v.subject, &v.issuer) {
        (Some(k), _, _) => format!("key {k}"),
        (None, Some(s), Some(i)) => format!("{s} (issuer {i})"),
        (None, Some(s), None) => s.clone(),
        _ => "an unnamed signer".into(),
    }
}

fn signature_state(e: &ImageEntry, policy: &TrustPolicy) -> SignatureState {
    let record = e
        .resolution
        .as_ref()
        .and_then(|r| r.provenance.as_ref())
        .and_then(|p| p.verification.as_ref());
    let Some(record) = record else {
        return SignatureState::default();
    };
    let mut st = SignatureState {
        found: Some(
            record
                .iter()
                .filter(|v| v.kind == SignatureKind::Signature)
                .count(),
        ),
        ..SignatureState::default()
    };
    for v in record {
        let what = match v.kind {
            SignatureKind::Signature => "signature",
            SignatureKind::Attestation => "attestation",
        };
        match v.verdict {
            Verdict::Unverified => st.failed.push(format!(
                "{what} ({}) failed verification: {}",
                v.source,
                v.reason.as_deref().unwrap_or("no reason recorded")
            )),
            Verdict::Verified if v.kind == SignatureKind::Signature => {
                if trusts(policy, v) {
                    st.trusted = true;
                } else if policy.verifies() {
                    st.untrusted.push(signer_of(v));
                }
            }
            Verdict::Verified => {}
        }
    }
    st
}

/// The signature rule `rule`'s findings for every declared image, per component using it.
fn signature_findings(inv: &Inventory, rule: Rule, severity: Severity) -> Vec<Finding> {
    let none = TrustPolicy::default();
    let mut out = Vec::new();
    for e in inv.images.values() {
        let Some(o) = declared(e) else { continue };
        let subject = e.reference.original().to_string();
        for name in e.components() {
            let comp = inv.components.iter().find(|c| c.name == name);
            let policy = comp
                .and_then(|c| c.trust.as_ref())
                .map_or(&none, |t| t.policy_for(&e.reference));
            let st = signature_state(e, policy);
            let at = |severity, message| Finding {
                rule,
                severity,
                file: o.source.clone(),
                line: None,
                subject: subject.clone(),
                message,
            };
            let ctx = format!("{subject} (component {name:?})");
            if rule == Rule::SignatureVerified {
                if st.trusted {
                    continue;
                }
                for f in &st.failed {
                    out.push(at(severity, format!("{ctx}: {f}")));
                }
                if !st.untrusted.is_empty() {
                    out.push(at(
                        severity,
                        format!(
                            "{ctx}: signed by {}, which the recipe does not trust",
                            st.untrusted.join("; ")
                        ),
                    ));
                }
                if st.found.is_none() && policy.verifies() {
                    out.push(at(
                        severity.max(Severity::Warning),
                        format!("{ctx}: signature status unknown: never verified (no verification record in the lock)"),
                    ));
                }
                continue;
            }
            if st.trusted || policy.owner.is_some() || policy.admission_policy.is_some() {
                continue;
            }
            let state = match st.found {
                None => "signature status unknown (never verified)",
                Some(0) => "no signature found",
                Some(_) if !policy.verifies() => "the recipe trusts no signer for it",
                Some(_) => "no signature by a trusted signer",
            };
            out.push(at(
                severity,
                format!("{ctx}: {state}, and it has neither an owner nor an admission policy"),
            ));
        }
    }
    out
}

/// Findings for people: `file:line: severity[rule]: message`, one per line.
pub fn human(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let at = match f.line {
            Some(l) => format!("{}:{l}", f.file),
            None => f.file.clone(),
        };
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Off => "off",
        };
        s.push_str(&format!("{at}: {sev}[{}]: {}\n", f.rule.id(), f.message));
    }
    s
}

/// Findings as SARIF 2.1.0 for code-scanning UIs.
pub fn sarif(findings: &[Finding], tool_version: &str) -> String {
    let rules: Vec<serde_json::Value> = Rule::ALL
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id(),
                "shortDescription": { "text": r.description() },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut location = serde_json::json!({
                "physicalLocation": { "artifactLocation": { "uri": f.file } }
            });
            if let Some(l) = f.line {
                location["physicalLocation"]["region"] = serde_json::json!({ "startLine": l });
            }
            serde_json::json!({
                "ruleId": f.rule.id(),
                "level": if f.severity == Severity::Error { "error" } else { "warning" },
                "message": { "text": f.message },
                "locations": [location],
            })
        })
        .collect();
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "imagebom",
                "version": tool_version,
                "informationUri": "https://example.invalid/imagebom",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{Category, ChartInfo, ComponentInfo, Digest, Occurrence};

    fn inv(refs: &[(&str, Category)]) -> Inventory {
        let mut inv = Inventory {
            components: vec![ComponentInfo {
                name: "c".into(),
                display_name: None,
                namespace: None,
                chart: Some(ChartInfo {
                    repository: "oci://x".into(),
                    chart: "web".into(),
                    version: "^1.2".into(),
                    pinned: false,
                    rendered: None,
                }),
                manifests: vec![],
                trust: None,
            }],
            ..Inventory::default()
        };
        for (r, cat) in refs {
            inv.add(
                ImageRef::parse(r).unwrap(),
                Occurrence {
                    component: "c".into(),
                    source: "m.yaml".into(),
                    kind: "Pod".into(),
                    name: "p".into(),
                    path: "x".into(),
                    line: None,
                    category: *cat,
                    original: r.to_string(),
                    reason: None,
                },
            );
        }
        inv
    }

    #[test]
    fn rules_and_exemptions() {
        let d = Digest::sha256_of(b"x");
        let pinned = format!("quay.io/a/b:1@{d}");
        let i = inv(&[
            (&pinned, Category::Pod),
            ("busybox", Category::Pod),
            ("nginx:latest", Category::Pod),
            ("quay.io/ok/exempt:2", Category::Pod),
            ("quay.io/only/env:1", Category::Env),
        ]);
        let ex = vec![
            Exemption {
                reference: "quay.io/ok/exempt".into(),
                reason: "r".into(),
                tracking: "https://t/1".into(),
            },
            Exemption {
                reference: "quay.io/gone:1".into(),
                reason: "r".into(),
                tracking: "https://t/2".into(),
            },
        ];
        let cfg = PolicyConfig {
            rules: [(Rule::LatestTag, Severity::Warning)].into(),
            allowed_registries: vec!["quay.io".into()],
        };
        let f = check(&i, "recipe.yaml", &ex, &cfg);
        let ids: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.rule.id(), f.subject.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("chart-pinned", "c/web"),
                ("digest-pinned", "busybox"),
                ("digest-pinned", "nginx:latest"),
                ("no-tag-or-digest", "busybox"),
                ("stale-exemption", "quay.io/gone:1"),
                ("latest-tag", "nginx:latest"),
                ("registry-allowlist", "busybox"),
                ("registry-allowlist", "nginx:latest"),
            ]
        );
        assert!(human(&f).contains("m.yaml: error[digest-pinned]: busybox is not pinned"));
        let s: serde_json::Value = serde_json::from_str(&sarif(&f, "0.1.0")).unwrap();
        assert_eq!(s["runs"][0]["results"].as_array().unwrap().len(), f.len());
        assert_eq!(s["runs"][0]["results"][4]["level"], "warning");
    }

    fn verdict(verdict: Verdict, subject: &str, key_id: Option<&str>) -> SignatureVerdict {
        SignatureVerdict {
            kind: SignatureKind::Signature,
            source: "referrer".into(),
            verdict,
            subject: key_id.is_none().then(|| subject.to_string()),
            issuer: key_id
                .is_none()
                .then(|| "https://token.actions.githubusercontent.com".into()),
            key_id: key_id.map(str::to_string),
            predicate_type: None,
            reason: (verdict == Verdict::Unverified).then(|| "bad signature".into()),
            build: None,
        }
    }

    /// One component `c` with `trust`, images `refs` each with its verification record.
    fn trusted_inv(
        trust: imagebom_model::ComponentTrust,
        refs: &[(&str, Option<Vec<SignatureVerdict>>)],
    ) -> Inventory {
        let mut i = inv(&[]);
        i.components[0].chart = None;
        i.components[0].trust = Some(trust);
        for (r, record) in refs {
            let reference = ImageRef::parse(r).unwrap();
            let key = reference.normalized();
            i.add(
                reference,
                Occurrence {
                    component: "c".into(),
                    source: "m.yaml".into(),
                    kind: "Pod".into(),
                    name: "p".into(),
                    path: "x".into(),
                    line: None,
                    category: Category::Pod,
                    original: r.to_string(),
                    reason: None,
                },
            );
            i.images.get_mut(&key).unwrap().resolution = Some(imagebom_model::Resolution {
                digest: Digest::sha256_of(r.as_bytes()),
                source: imagebom_model::ResolutionSource::Registry,
                media_type: None,
                size: None,
                platforms: vec![],
                artifact_type: None,
                provenance: Some(imagebom_model::Provenance {
                    verification: record.clone(),
                    ..Default::default()
                }),
                sboms: Vec::new(),
            });
        }
        i
    }

    #[test]
    fn signature_rules() {
        use imagebom_model::{ComponentTrust, ImageTrust, TrustedIdentity, TrustedKey};
        let trust = ComponentTrust {
            policy: TrustPolicy {
                identities: vec![TrustedIdentity {
                    issuer: Some("https://token.actions.githubusercontent.com".into()),
                    subject_reg_exp: Some("^https://github\\.com/acme/".into()),
                    ..Default::default()
                }],
                keys: vec![TrustedKey {
                    source: "k.pub".into(),
                    pem: String::new(),
                    key_id: "ab".repeat(32),
                }],
                ..Default::default()
            },
            images: vec![ImageTrust {
                pattern: "quay.io/owned/*".into(),
                policy: TrustPolicy {
                    owner: Some("ops".into()),
                    ..Default::default()
                },
            }],
        };
        let acme = "https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1";
        let evil = "https://github.com/evil/app/.github/workflows/r.yml@refs/tags/v1";
        let i = trusted_inv(
            trust,
            &[
                (
                    "quay.io/a/trusted:1",
                    Some(vec![verdict(Verdict::Verified, acme, None)]),
                ),
                (
                    "quay.io/a/keyed:1",
                    Some(vec![verdict(Verdict::Verified, "", Some(&"AB".repeat(32)))]),
                ),
                (
                    "quay.io/a/evil:1",
                    Some(vec![verdict(Verdict::Verified, evil, None)]),
                ),
                (
                    "quay.io/a/broken:1",
                    Some(vec![verdict(Verdict::Unverified, "", None)]),
                ),
                ("quay.io/a/none:1", Some(vec![])),
                ("quay.io/a/unknown:1", None),
                ("quay.io/owned/x:1", None),
            ],
        );
        let f = check(&i, "recipe.yaml", &[], &PolicyConfig::default());
        let got: Vec<(&str, Severity, &str)> = f
            .iter()
            .filter(|f| matches!(f.rule, Rule::SignatureVerified | Rule::SignatureCovered))
            .map(|f| (f.rule.id(), f.severity, f.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("signature-verified", Severity::Error, "quay.io/a/broken:1"),
                ("signature-verified", Severity::Error, "quay.io/a/evil:1"),
                (
                    "signature-verified",
                    Severity::Warning,
                    "quay.io/a/unknown:1"
                ),
                ("signature-covered", Severity::Warning, "quay.io/a/broken:1"),
                ("signature-covered", Severity::Warning, "quay.io/a/evil:1"),
                ("signature-covered", Severity::Warning, "quay.io/a/none:1"),
                (
                    "signature-covered",
                    Severity::Warning,
                    "quay.io/a/unknown:1"
                ),
            ]
        );
        let text = human(&f);
        assert!(text.contains(&format!("signed by {evil} (issuer https://token.actions.githubusercontent.com), which the recipe does not trust")), "{text}");
        assert!(
            text.contains("signature (referrer) failed verification: bad signature"),
            "{text}"
        );
        assert!(text.contains("quay.io/a/unknown:1 (component \"c\"): signature status unknown (never verified), and it has neither an owner nor an admission policy"), "{text}");
        // Without any trust policy the rules stay quiet unless the configuration names them.
        let mut plain = i.clone();
        plain.components[0].trust = None;
        assert!(check(&plain, "r", &[], &PolicyConfig::default())
            .iter()
            .all(|f| !matches!(f.rule, Rule::SignatureVerified | Rule::SignatureCovered)));
        let cfg = PolicyConfig {
            rules: [(Rule::SignatureCovered, Severity::Error)].into(),
            ..Default::default()
        };
        let named = check(&plain, "r", &[], &cfg);
        assert_eq!(
            named
                .iter()
                .filter(|f| f.rule == Rule::SignatureCovered)
                .count(),
            7
        );
        assert!(named.iter().all(|f| f.rule != Rule::SignatureVerified));
    }
}
