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
//!
//! Only images a workload or custom resource declares (and recipe images) are gated; images seen
//! only in env values, args, embedded documents or a chart's `Chart.yaml` annotations are
//! evidence, not deployments.

use imagebom_model::{ImageEntry, ImageRef, Inventory};
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
}

impl Rule {
    /// All rules.
    pub const ALL: [Rule; 6] = [
        Rule::ChartPinned,
        Rule::DigestPinned,
        Rule::NoTagOrDigest,
        Rule::StaleExemption,
        Rule::LatestTag,
        Rule::RegistryAllowlist,
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
        }
    }

    fn default_severity(self) -> Severity {
        match self {
            Rule::ChartPinned | Rule::DigestPinned | Rule::NoTagOrDigest => Severity::Error,
            Rule::StaleExemption => Severity::Warning,
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
    out.sort();
    out.dedup();
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
}
