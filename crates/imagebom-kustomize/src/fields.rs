//! Kustomize's field-spec transformers: namespace, name prefix/suffix, labels, annotations,
//! replicas, images, and the name references fixed at the end of a build.
//!
//! The field-spec tables restate, as data of our own, which fields Kustomize v5's built-in
//! configurations touch (`api/internal/konfig/builtinpluginconsts`).

use crate::config::{Config, FieldSpec};
use crate::kustomization::Kustomization;
use crate::{get_str, id, Id, KustomizeError, Object};
use serde_yaml_ng::{Mapping, Value};

/// A field to touch: its `/`-separated path, which objects (by group and kind, empty = any),
/// and whether missing maps on the way are created.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub path: &'static str,
    pub group: &'static str,
    pub kind: &'static str,
    pub create: bool,
}

const fn s(path: &'static str, group: &'static str, kind: &'static str, create: bool) -> Spec {
    Spec {
        path,
        group,
        kind,
        create,
    }
}

const ANY: &str = "*";

/// Labels on the object and its pod templates (Kustomize's `metadataLabels`).
const TEMPLATE_LABELS: &[Spec] = &[
    s("metadata/labels", ANY, "", true),
    s(
        "spec/template/metadata/labels",
        "",
        "ReplicationController",
        true,
    ),
    s("spec/template/metadata/labels", ANY, "Deployment", true),
    s("spec/template/metadata/labels", ANY, "ReplicaSet", true),
    s("spec/template/metadata/labels", ANY, "DaemonSet", true),
    s("spec/template/metadata/labels", "apps", "StatefulSet", true),
    s(
        "spec/volumeClaimTemplates[]/metadata/labels",
        "apps",
        "StatefulSet",
        true,
    ),
    s("spec/template/metadata/labels", "batch", "Job", true),
    s("spec/jobTemplate/metadata/labels", "batch", "CronJob", true),
    s(
        "spec/jobTemplate/spec/template/metadata/labels",
        "batch",
        "CronJob",
        true,
    ),
];

const AFFINITY: [&str; 5] = [
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

/// Selectors that `commonLabels` (and `labels` with `includeSelectors`) also set.
fn selector_specs() -> Vec<Spec> {
    let mut v = vec![
        s("spec/selector", "", "Service", true),
        s("spec/selector", "", "ReplicationController", true),
        s("spec/selector/matchLabels", ANY, "Deployment", true),
    ];
    v.extend(AFFINITY.iter().map(|p| s(p, "apps", "Deployment", false)));
    v.push(s("spec/selector/matchLabels", ANY, "ReplicaSet", true));
    v.push(s("spec/selector/matchLabels", ANY, "DaemonSet", true));
    v.push(s("spec/selector/matchLabels", "apps", "StatefulSet", true));
    v.extend(AFFINITY.iter().map(|p| s(p, "apps", "StatefulSet", false)));
    v.extend([
        s("spec/selector/matchLabels", "batch", "Job", false),
        s(
            "spec/jobTemplate/spec/selector/matchLabels",
            "batch",
            "CronJob",
            false,
        ),
        s(
            "spec/selector/matchLabels",
            "policy",
            "PodDisruptionBudget",
            false,
        ),
        s(
            "spec/podSelector/matchLabels",
            "networking.k8s.io",
            "NetworkPolicy",
            false,
        ),
        s(
            "spec/ingress/from/podSelector/matchLabels",
            "networking.k8s.io",
            "NetworkPolicy",
            false,
        ),
        s(
            "spec/egress/to/podSelector/matchLabels",
            "networking.k8s.io",
            "NetworkPolicy",
            false,
        ),
    ]);
    v.extend_from_slice(TEMPLATE_LABELS);
    v
}

const ANNOTATIONS: &[Spec] = &[
    s("metadata/annotations", ANY, "", true),
    s(
        "spec/template/metadata/annotations",
        "",
        "ReplicationController",
        true,
    ),
    s(
        "spec/template/metadata/annotations",
        ANY,
        "Deployment",
        true,
    ),
    s(
        "spec/template/metadata/annotations",
        ANY,
        "ReplicaSet",
        true,
    ),
    s("spec/template/metadata/annotations", ANY, "DaemonSet", true),
    s(
        "spec/template/metadata/annotations",
        ANY,
        "StatefulSet",
        true,
    ),
    s("spec/template/metadata/annotations", "batch", "Job", true),
    s(
        "spec/jobTemplate/metadata/annotations",
        "batch",
        "CronJob",
        true,
    ),
    s(
        "spec/jobTemplate/spec/template/metadata/annotations",
        "batch",
        "CronJob",
        true,
    ),
];

const REPLICAS: &[Spec] = &[
    s("spec/replicas", ANY, "Deployment", true),
    s("spec/replicas", ANY, "ReplicationController", true),
    s("spec/replicas", ANY, "ReplicaSet", true),
    s("spec/replicas", ANY, "StatefulSet", true),
];

/// Built-in kinds that are cluster-scoped (no `metadata.namespace`).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "RuntimeClass",
    "IngressClass",
    "PodSecurityPolicy",
    "CertificateSigningRequest",
    "ComponentStatus",
];

/// Whether an object is cluster-scoped as Kustomize v5.5 decides it: from the Kubernetes
/// v1.21 schema it embeds, where a type it does not know (say `flowcontrol.apiserver.k8s.io/v1`
/// or `ValidatingAdmissionPolicy`) counts as namespaced.
pub(crate) fn cluster_scoped(i: &Id) -> bool {
    if i.kind == "FlowSchema" || i.kind == "PriorityLevelConfiguration" {
        return i.group == "flowcontrol.apiserver.k8s.io"
            && (i.version == "v1alpha1" || i.version == "v1beta1");
    }
    CLUSTER_SCOPED.contains(&i.kind.as_str())
}

fn selected(spec: &Spec, id: &Id) -> bool {
    (spec.kind.is_empty() || spec.kind == id.kind) && (spec.group == ANY || spec.group == id.group)
}

/// Calls `f` on every node at `path` (sequences on the way are walked element by element),
/// creating missing maps (and a `Null` leaf) when `create`.
pub(crate) fn visit(v: &mut Value, path: &[&str], create: bool, f: &mut dyn FnMut(&mut Value)) {
    if let Value::Sequence(items) = v {
        for item in items {
            visit(item, path, create, f);
        }
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return;
    };
    let key = first.trim_end_matches("[]");
    let Value::Mapping(m) = v else { return };
    let present = m.get(key).is_some_and(|c| !c.is_null());
    if !present {
        // A missing list (`name[]`) is never created, as in Kustomize.
        if !create || first.ends_with("[]") {
            return;
        }
        let fresh = if rest.is_empty() {
            Value::Null
        } else {
            Value::Mapping(Mapping::new())
        };
        m.insert(Value::from(key), fresh);
    }
    if let Some(child) = m.get_mut(key) {
        visit(child, rest, create, f);
    }
}

fn apply_specs(o: &mut Object, specs: &[Spec], f: &mut dyn FnMut(&mut Value)) {
    let i = id(&o.doc);
    for spec in specs.iter().filter(|s| selected(s, &i)) {
        let path: Vec<&str> = spec.path.split('/').collect();
        visit(&mut o.doc, &path, spec.create, f);
    }
}

/// Calls `f` on every field a configured spec selects in `o`.
fn apply_config_specs(o: &mut Object, specs: &[FieldSpec], f: &mut dyn FnMut(&mut Value)) {
    let i = id(&o.doc);
    for spec in specs.iter().filter(|s| s.selects(&i)) {
        visit(&mut o.doc, &spec.segments(), spec.create, f);
    }
}

/// Merges `pairs` into the map at each spec'd field, built-in and configured.
fn add_pairs(o: &mut Object, specs: &[Spec], extra: &[FieldSpec], pairs: &Mapping) {
    let mut add = |leaf: &mut Value| {
        if leaf.is_null() {
            *leaf = Value::Mapping(Mapping::new());
        }
        if let Value::Mapping(m) = leaf {
            for (k, v) in pairs {
                m.insert(k.clone(), string_value(v));
            }
        }
    };
    apply_specs(o, specs, &mut add);
    apply_config_specs(o, extra, &mut add);
}

/// Label and annotation values are strings, whatever YAML type they were written as.
fn string_value(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        Value::Null => Value::from(""),
        Value::Bool(b) => Value::from(b.to_string()),
        Value::Number(n) => Value::from(n.to_string()),
        other => other.clone(),
    }
}

pub(crate) fn set_namespace(objects: &mut [Object], ns: &str, extra: &[FieldSpec]) {
    for o in objects {
        apply_config_specs(o, extra, &mut |leaf| *leaf = ns.into());
        let i = id(&o.doc);
        if let Value::Mapping(m) = &mut o.doc {
            if !cluster_scoped(&i) {
                if let Some(Value::Mapping(meta)) = m.get_mut("metadata") {
                    meta.insert("namespace".into(), ns.into());
                }
            }
        }
        if i.kind == "Namespace" && i.group.is_empty() {
            if let Some(Value::Mapping(meta)) = o.doc.get_mut("metadata") {
                meta.insert("name".into(), ns.into());
            }
        }
        if i.kind == "RoleBinding" || i.kind == "ClusterRoleBinding" {
            visit(&mut o.doc, &["subjects"], false, &mut |sub| {
                if get_str(sub, &["name"]) == Some("default") {
                    if let Value::Mapping(m) = sub {
                        m.insert("namespace".into(), ns.into());
                    }
                }
            });
        }
        if i.kind == "ValidatingWebhookConfiguration" || i.kind == "MutatingWebhookConfiguration" {
            let path = ["webhooks", "clientConfig", "service", "namespace"];
            visit(&mut o.doc, &path, false, &mut |leaf| *leaf = ns.into());
        }
        if i.kind == "APIService" {
            visit(
                &mut o.doc,
                &["spec", "service", "namespace"],
                true,
                &mut |l| *l = ns.into(),
            );
        }
        if i.kind == "CustomResourceDefinition" {
            let path = [
                "spec",
                "conversion",
                "webhook",
                "clientConfig",
                "service",
                "namespace",
            ];
            visit(&mut o.doc, &path, false, &mut |leaf| *leaf = ns.into());
        }
    }
}

pub(crate) fn prefix_suffix(objects: &mut [Object], prefix: &str, suffix: &str) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for o in objects {
        let i = id(&o.doc);
        let api_service = i.kind == "APIService" && i.group == "apiregistration.k8s.io";
        if i.kind == "CustomResourceDefinition"
            || i.kind == "Namespace" && i.group.is_empty()
            || api_service
        {
            continue;
        }
        if let Some(Value::Mapping(meta)) = o.doc.get_mut("metadata") {
            meta.insert("name".into(), format!("{prefix}{}{suffix}", i.name).into());
        }
    }
}

pub(crate) fn labels(
    k: &Kustomization,
    objects: &mut [Object],
    cfg: &Config,
) -> Result<(), KustomizeError> {
    if let Some(Value::Mapping(common)) = k.value.get("commonLabels") {
        let specs = selector_specs();
        for o in objects.iter_mut() {
            add_pairs(o, &specs, &cfg.common_labels, common);
        }
    }
    for entry in k.list("labels") {
        let Some(Value::Mapping(pairs)) = entry.get("pairs") else {
            continue;
        };
        // `fields`: custom field specs, merged with the built-in ones below.
        let mut extra: Vec<FieldSpec> = match entry.get("fields") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Sequence(specs)) => specs.iter().map(FieldSpec::parse).collect(),
            Some(_) => {
                return Err(KustomizeError::invalid(
                    &k.file,
                    "labels: `fields` must be a list of field specs",
                ))
            }
        };
        let flag = |f: &str| entry.get(f).and_then(Value::as_bool).unwrap_or(false);
        let selectors = flag("includeSelectors");
        if selectors {
            extra.extend(cfg.common_labels.iter().cloned());
        }
        let specs: Vec<Spec> = if selectors {
            selector_specs()
        } else if flag("includeTemplates") {
            TEMPLATE_LABELS.to_vec()
        } else {
            TEMPLATE_LABELS[..1].to_vec()
        };
        for o in objects.iter_mut() {
            add_pairs(o, &specs, &extra, pairs);
        }
    }
    Ok(())
}

pub(crate) fn annotations(k: &Kustomization, objects: &mut [Object], cfg: &Config) {
    if let Some(Value::Mapping(pairs)) = k.value.get("commonAnnotations") {
        for o in objects.iter_mut() {
            add_pairs(o, ANNOTATIONS, &cfg.common_annotations, pairs);
        }
    }
}

pub(crate) fn replicas(k: &Kustomization, objects: &mut [Object]) -> Result<(), KustomizeError> {
    for r in k.list("replicas") {
        let (Some(name), Some(count)) = (get_str(&r, &["name"]), r.get("count")) else {
            return Err(KustomizeError::invalid(
                &k.file,
                "replicas: each entry needs `name` and `count`",
            ));
        };
        for o in objects.iter_mut() {
            if id(&o.doc).name == name || o.original.1 == name {
                apply_specs(o, REPLICAS, &mut |leaf| *leaf = count.clone());
            }
        }
    }
    Ok(())
}

/// The image fields of Kustomize's `images` field specs (any kind).
const IMAGE_PATHS: [&str; 4] = [
    "spec/containers/image",
    "spec/initContainers/image",
    "spec/template/spec/containers/image",
    "spec/template/spec/initContainers/image",
];

/// One `images` entry.
struct ImageRule {
    pattern: regex::Regex,
    new_name: String,
    new_tag: String,
    digest: String,
    tag_suffix: String,
}

pub(crate) fn images(k: &Kustomization, objects: &mut [Object]) -> Result<(), KustomizeError> {
    // The legacy `imageTags` are `images` entries after the others, as Kustomize reads them.
    for entry in k.list("images").into_iter().chain(k.list("imageTags")) {
        let field = |f: &str| match entry.get(f) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        // Kustomize puts the name into its pattern unescaped; a name that is not a valid
        // pattern matches nothing.
        let pattern = format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$",
            field("name")
        );
        let Ok(pattern) = regex::Regex::new(&pattern) else {
            continue;
        };
        let rule = ImageRule {
            pattern,
            new_name: field("newName"),
            new_tag: field("newTag"),
            digest: field("digest"),
            tag_suffix: field("tagSuffix"),
        };
        for o in objects.iter_mut() {
            if id(&o.doc).kind != "CustomResourceDefinition" {
                walk_containers(&mut o.doc, &rule);
            }
            // Kustomize then runs its field-spec filter over these paths too, so a
            // `tagSuffix` lands twice on them.
            for path in IMAGE_PATHS {
                let path: Vec<&str> = path.split('/').collect();
                visit(&mut o.doc, &path, false, &mut |leaf| {
                    if let Some(new) = leaf.as_str().and_then(|img| retag(img, &rule)) {
                        *leaf = new.into();
                    }
                });
            }
        }
    }
    Ok(())
}

/// Every `containers` / `initContainers` list anywhere in the object (Kustomize's legacy
/// image filter, which covers its field specs too).
fn walk_containers(v: &mut Value, rule: &ImageRule) {
    match v {
        Value::Mapping(m) => {
            for (key, child) in m.iter_mut() {
                walk_containers(child, rule);
                let k = key.as_str().unwrap_or("");
                if k == "containers" || k == "initContainers" {
                    if let Value::Sequence(items) = child {
                        for c in items {
                            if let Some(Value::String(img)) = c.get_mut("image") {
                                if let Some(new) = retag(img, rule) {
                                    *img = new;
                                }
                            }
                        }
                    }
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|c| walk_containers(c, rule)),
        _ => {}
    }
}

fn retag(image: &str, rule: &ImageRule) -> Option<String> {
    if !rule.pattern.is_match(image) {
        return None;
    }
    let (mut name, mut tag, mut digest) = split_image(image);
    if !rule.new_name.is_empty() {
        name = rule.new_name.clone();
    }
    if !rule.new_tag.is_empty() {
        tag = rule.new_tag.clone();
        digest = rule.digest.clone();
    } else if !rule.digest.is_empty() {
        tag.clear();
        digest = rule.digest.clone();
    } else if !rule.tag_suffix.is_empty() {
        tag.push_str(&rule.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    Some(name)
}

/// Name, tag and digest of a reference, split as Kustomize splits them (a `:` before the first
/// `/` is a registry port, not a tag).
fn split_image(image: &str) -> (String, String, String) {
    let start = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[start..];
    let at = search.find('@').map(|i| i + start);
    let colon = search.find(':').map(|i| i + start);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (
            image[..a].to_string(),
            String::new(),
            image[a + 1..].to_string(),
        ),
        (Some(c), Some(a)) => (
            image[..c].to_string(),
            image[c + 1..a].to_string(),
            image[a + 1..].to_string(),
        ),
        (Some(c), None) => (
            image[..c].to_string(),
            image[c + 1..].to_string(),
            String::new(),
        ),
        (None, Some(_)) => unreachable!("handled by the digest-only arm"),
    }
}

/// Where a pod spec sits in each workload kind.
fn pod_spec_root(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// Fields inside a pod spec that name an object of a kind.
const POD_REFS: &[(&str, &str)] = &[
    ("ConfigMap", "volumes/configMap/name"),
    ("ConfigMap", "volumes/projected/sources/configMap/name"),
    ("ConfigMap", "containers/env/valueFrom/configMapKeyRef/name"),
    (
        "ConfigMap",
        "initContainers/env/valueFrom/configMapKeyRef/name",
    ),
    ("ConfigMap", "containers/envFrom/configMapRef/name"),
    ("ConfigMap", "initContainers/envFrom/configMapRef/name"),
    ("Secret", "volumes/secret/secretName"),
    ("Secret", "volumes/projected/sources/secret/name"),
    ("Secret", "containers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "initContainers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "containers/envFrom/secretRef/name"),
    ("Secret", "initContainers/envFrom/secretRef/name"),
    ("Secret", "imagePullSecrets/name"),
    ("ServiceAccount", "serviceAccountName"),
    ("ServiceAccount", "serviceAccount"),
    (
        "PersistentVolumeClaim",
        "volumes/persistentVolumeClaim/claimName",
    ),
    ("PriorityClass", "priorityClassName"),
];

/// Fields outside pod specs: (referred kind, referrer kind, path).
const OTHER_REFS: &[(&str, &str, &str)] = &[
    ("Service", "StatefulSet", "spec/serviceName"),
    (
        "Service",
        "ValidatingWebhookConfiguration",
        "webhooks/clientConfig/service/name",
    ),
    (
        "Service",
        "MutatingWebhookConfiguration",
        "webhooks/clientConfig/service/name",
    ),
    ("Service", "APIService", "spec/service/name"),
    (
        "Service",
        "Ingress",
        "spec/rules/http/paths/backend/service/name",
    ),
    ("Service", "Ingress", "spec/defaultBackend/service/name"),
    (
        "Service",
        "Ingress",
        "spec/rules/http/paths/backend/serviceName",
    ),
    (
        "Service",
        "CustomResourceDefinition",
        "spec/conversion/webhook/clientConfig/service/name",
    ),
    ("Secret", "ServiceAccount", "imagePullSecrets/name"),
    ("Secret", "ServiceAccount", "secrets/name"),
    ("Secret", "Ingress", "spec/tls/secretName"),
    (
        "Deployment",
        "HorizontalPodAutoscaler",
        "spec/scaleTargetRef/name",
    ),
    (
        "StatefulSet",
        "HorizontalPodAutoscaler",
        "spec/scaleTargetRef/name",
    ),
];

/// Which objects a referrer may name, as Kustomize decides: anything from a cluster-scoped
/// referrer; else cluster-scoped objects, objects in its namespace (unset counts as
/// `default`) and, for a RoleBinding, objects in its ServiceAccount subjects' namespaces.
fn reachable(doc: &Value, i: &Id) -> impl Fn(&Target) -> bool {
    let scoped = cluster_scoped(i);
    let norm = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    let ns = norm(&i.namespace);
    let mut subject_ns = Vec::new();
    if i.kind == "RoleBinding" {
        for sub in doc
            .get("subjects")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if get_str(sub, &["kind"]) == Some("ServiceAccount") {
                if let Some(n) = get_str(sub, &["namespace"]) {
                    subject_ns.push(n.to_string());
                }
            }
        }
    }
    move |t: &Target| {
        scoped
            || CLUSTER_SCOPED.contains(&t.kind.as_str())
            || norm(&t.namespace) == ns
            || subject_ns.contains(&t.namespace)
    }
}

/// A referable object: kind, original name and namespace, current name and namespace.
struct Target {
    kind: String,
    original: String,
    original_ns: String,
    name: String,
    namespace: String,
}

/// After prefixes, suffixes and hashes, points every reference at the renamed object.
pub(crate) fn fix_name_references(objects: &mut [Object], cfg: &Config) {
    let targets: Vec<Target> = objects
        .iter()
        .map(|o| {
            let i = id(&o.doc);
            Target {
                kind: o.original.0.clone(),
                original: o.original.1.clone(),
                original_ns: o.original.2.clone(),
                name: i.name,
                namespace: i.namespace,
            }
        })
        .filter(|t| t.original != t.name || t.original_ns != t.namespace)
        .collect();
    if targets.is_empty() {
        return;
    }
    for o in objects.iter_mut() {
        let i = id(&o.doc);
        let reach = reachable(&o.doc, &i);
        let resolve = |kind: &str, value: &str| -> Option<String> {
            let cands: Vec<&Target> = targets
                .iter()
                .filter(|t| t.kind == kind && t.original == value && reach(t))
                .collect();
            let same_ns = cands.iter().find(|t| t.namespace == i.namespace);
            same_ns
                .or(if cands.len() == 1 {
                    cands.first()
                } else {
                    None
                })
                .map(|t| t.name.clone())
        };
        let fix = |kind: &str, path: Vec<&str>, doc: &mut Value| {
            visit(doc, &path, false, &mut |leaf| {
                if let Some(new) = leaf.as_str().and_then(|v| resolve(kind, v)) {
                    *leaf = new.into();
                }
            });
        };
        if let Some(root) = pod_spec_root(&i.kind) {
            for (kind, rel) in POD_REFS {
                let mut path = root.to_vec();
                path.extend(rel.split('/'));
                fix(kind, path, &mut o.doc);
            }
        }
        for (kind, referrer, rel) in OTHER_REFS {
            if *referrer == i.kind {
                fix(kind, rel.split('/').collect(), &mut o.doc);
            }
        }
        for nr in &cfg.name_refs {
            for spec in nr.specs.iter().filter(|s| s.selects(&i)) {
                fix(&nr.kind, spec.segments(), &mut o.doc);
            }
        }
        fix_role_refs(&mut o.doc, &i, &resolve, &targets, &reach);
    }
}

/// `roleRef` and ServiceAccount `subjects` of (Cluster)RoleBindings.
fn fix_role_refs(
    doc: &mut Value,
    i: &Id,
    resolve: &dyn Fn(&str, &str) -> Option<String>,
    targets: &[Target],
    reach: &dyn Fn(&Target) -> bool,
) {
    if i.kind != "RoleBinding" && i.kind != "ClusterRoleBinding" {
        return;
    }
    if let Some(role) = doc.get_mut("roleRef") {
        let kind = get_str(role, &["kind"]).unwrap_or("").to_string();
        if let Some(Value::String(name)) = role.get_mut("name") {
            if let Some(new) = resolve(&kind, name) {
                *name = new;
            }
        }
    }
    visit(doc, &["subjects"], false, &mut |sub| {
        if get_str(sub, &["kind"]) != Some("ServiceAccount") {
            return;
        }
        let name = get_str(sub, &["name"]).unwrap_or("").to_string();
        let ns = get_str(sub, &["namespace"]).unwrap_or("").to_string();
        // Kustomize counts an unset namespace as `default`.
        let norm = |s: &str| {
            if s.is_empty() {
                "default".to_string()
            } else {
                s.to_string()
            }
        };
        let found = targets.iter().find(|t| {
            reach(t)
                && t.kind == "ServiceAccount"
                && t.original == name
                && (ns.is_empty() || norm(&t.original_ns) == ns || t.namespace == ns)
        });
        if let (Some(t), Value::Mapping(m)) = (found, sub) {
            m.insert("name".into(), t.name.clone().into());
            if !t.namespace.is_empty() {
                m.insert("namespace".into(), t.namespace.clone().into());
            }
        }
    });
}
