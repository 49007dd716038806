//! The extraction rules, one small manifest at a time.

use imagebom_extract::{
    extract, extract_manifest, split_stream, ExtractError, Extraction, Limits, Origin,
};
use imagebom_model::{Category, Inventory};
use std::time::{Duration, Instant};

const D: &str = "sha256:e243d778bd83de47668e7629d78f673317a130fedc99941be12aad7fc6bdfa85";

fn origin() -> Origin {
    Origin {
        component: "comp".into(),
        file: "in.yaml".into(),
    }
}

fn run(text: &str) -> Extraction {
    extract(text, &origin(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// (category, path, original) of every occurrence.
fn found(x: &Extraction) -> Vec<(Category, String, String)> {
    x.images
        .iter()
        .map(|(_, o)| (o.category, o.path.clone(), o.original.clone()))
        .collect()
}

fn row(c: Category, path: &str, image: &str) -> (Category, String, String) {
    (c, path.to_string(), image.to_string())
}

#[test]
fn empty_and_comment_only_input() {
    for text in [
        "",
        "\n\n",
        "---\n",
        "# just a comment\n---\n# another\n",
        "---\n---\n",
    ] {
        let x = run(text);
        assert!(x.images.is_empty() && x.warnings.is_empty(), "{text:?}");
    }
}

#[test]
fn helm_separators_glued_to_comments() {
    let text = "---\n# Source: c/templates/rbac.yaml\nkind: ConfigMap\nmetadata: {name: a}\n\
                ---# Permission to approve\nkind: Pod\nmetadata: {name: p}\n\
                spec:\n  containers:\n  - name: c\n    image: busybox:1.36\n\
                --- # trailing\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers:\n  - {name: c, image: alpine}\n";
    let x = run(text);
    assert_eq!(
        found(&x),
        vec![
            row(Category::Pod, "spec/containers/0/image", "busybox:1.36"),
            row(Category::Pod, "spec/containers/0/image", "alpine"),
        ]
    );
    // The `# Source:` of the template applies to its later documents.
    assert!(x
        .images
        .iter()
        .all(|(_, o)| o.source == "c/templates/rbac.yaml" && o.component == "comp"));
    assert_eq!(x.images[0].1.kind, "Pod");
    assert_eq!(x.images[0].1.name, "p");
    assert_eq!(split_stream(text).len(), 3);
}

#[test]
fn source_defaults_to_the_file() {
    let x =
        run("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx:1}]}\n");
    assert_eq!(x.images[0].1.source, "in.yaml");
}

#[test]
fn pod_specs_everywhere() {
    let text = r#"
kind: CronJob
metadata: {name: cj}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: registry.example.com/init:1
          containers:
          - name: main
            image: registry.example.com/main:2
---
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: app, image: app:1}]
  ephemeralContainers:
  - name: dbg
    image: busybox@sha256:e243d778bd83de47668e7629d78f673317a130fedc99941be12aad7fc6bdfa85
---
kind: MyOperatorThing
metadata: {name: custom}
spec:
  podTemplate:
    spec:
      containers:
      - name: side
        image: quay.io/x/side:v1
"#;
    let x = run(text);
    let p = "spec/jobTemplate/spec/template/spec";
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::Pod,
                &format!("{p}/initContainers/0/image"),
                "registry.example.com/init:1"
            ),
            row(
                Category::Pod,
                &format!("{p}/containers/0/image"),
                "registry.example.com/main:2"
            ),
            row(Category::Pod, "spec/containers/0/image", "app:1"),
            row(
                Category::Pod,
                "spec/ephemeralContainers/0/image",
                &format!("busybox@{D}")
            ),
            row(
                Category::Pod,
                "spec/podTemplate/spec/containers/0/image",
                "quay.io/x/side:v1"
            ),
        ]
    );
    assert_eq!(x.images[0].1.kind, "CronJob");
    assert_eq!(x.images[4].1.kind, "MyOperatorThing");
}

#[test]
fn unparsable_pod_image_is_a_warning() {
    let x = run("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: 'Bad Image:1'}\n  - {name: b, image: 'ok:1'}\n");
    assert_eq!(
        found(&x),
        vec![row(Category::Pod, "spec/containers/1/image", "ok:1")]
    );
    assert_eq!(x.warnings.len(), 1);
    assert_eq!(x.warnings[0].path, "spec/containers/0/image");
    assert!(
        x.warnings[0].message.contains("whitespace"),
        "{:?}",
        x.warnings
    );
}

#[test]
fn env_and_args() {
    let text = r#"
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
      - name: op
        image: nvcr.io/nvidia/gpu-operator:v1
        command: [/bin/operator, "quay.io/x/cmd-image:v2"]
        args:
        - --leader-elect
        - --namespace=foo
        - --kubelet-service=kube-system/prometheus-kubelet
        - --controller-class=k8s.io/ingress-nginx
        - --prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1
        - --web.listen-address=:10250
        - --localhost=127.0.0.1
        - --redis=redis:6379
        - --port=8080
        - --config=/etc/config.yaml
        - --url=http://localhost:3000/api
        - registry.k8s.io/pause:3.9
        env:
        - {name: DRIVER_MANAGER_IMAGE, value: "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.12.0"}
        - {name: PLAIN, value: "no"}
        - {name: NUM, value: "6379"}
        - {name: BOOL, value: "true"}
        - {name: PATH_LIKE, value: /var/lib/grafana}
        - {name: URL, value: "http://localhost:3000/api/admin/provisioning"}
        - {name: HOSTPORT, value: "svc.default.svc.cluster.local:8080"}
        - {name: FQDN, value: "release-redis-master-0.default.svc.cluster.local"}
        - {name: FROM, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
"#;
    let x = run(text);
    let c = "spec/template/spec/containers/0";
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::Pod,
                &format!("{c}/image"),
                "nvcr.io/nvidia/gpu-operator:v1"
            ),
            row(
                Category::Arg,
                &format!("{c}/command/1"),
                "quay.io/x/cmd-image:v2"
            ),
            row(
                Category::Arg,
                &format!("{c}/args/4"),
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"
            ),
            row(
                Category::Arg,
                &format!("{c}/args/11"),
                "registry.k8s.io/pause:3.9"
            ),
            row(
                Category::Env,
                &format!("{c}/env/DRIVER_MANAGER_IMAGE"),
                "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.12.0"
            ),
        ]
    );
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
}

#[test]
fn cr_string_images_and_bare_words() {
    let text = r#"
kind: Prometheus
metadata: {name: p}
spec:
  image: quay.io/prometheus/prometheus:v3.14.0
  version: v3.14.0
  vgpuManager:
    enabled: false
    image: vgpu-manager
  thanos:
    image: quay.io/thanos/thanos:v0.42.4
  off:
    enabled: false
    image: quay.io/x/off:1
  empty:
    image: ""
"#;
    let x = run(text);
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::Cr,
                "spec/image",
                "quay.io/prometheus/prometheus:v3.14.0"
            ),
            row(
                Category::Cr,
                "spec/thanos/image",
                "quay.io/thanos/thanos:v0.42.4"
            ),
            row(Category::CrDisabled, "spec/off/image", "quay.io/x/off:1"),
        ]
    );
    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    let w = &x.warnings[0];
    assert_eq!(
        (w.path.as_str(), w.value.as_str()),
        ("spec/vgpuManager/image", "vgpu-manager")
    );
    assert!(w.message.contains("bare word"));
    assert_eq!((w.kind.as_str(), w.name.as_str()), ("Prometheus", "p"));
}

#[test]
fn triplets() {
    let text = format!(
        r#"
kind: ClusterPolicy
metadata: {{name: cp}}
spec:
  driver:
    enabled: true
    repository: nvcr.io/nvidia
    image: driver
    version: "595.91.07"
    manager:
      repository: nvcr.io/nvidia/cloud-native/
      image: k8s-driver-manager
      version: v0.12.0
  pinned:
    repository: nvcr.io/nvidia
    image: driver
    version: {D}
  dcgm:
    enabled: false
    repository: nvcr.io/nvidia/cloud-native
    image: dcgm
    version: 4.6.0-1
  vgpuManager:
    enabled: false
    driverManager:
      repository: nvcr.io/nvidia/cloud-native
      image: k8s-driver-manager
      version: v0.12.0
  tagged:
    repository: quay.io/a
    image: b
    tag: v1
    digest: {D}
  sha:
    repository: quay.io/a
    image: c
    containerSHA: {hex}
  incomplete:
    repository: quay.io/a
    image: d
"#,
        hex = &D["sha256:".len()..]
    );
    let x = run(&text);
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::CrTriplet,
                "spec/driver",
                "nvcr.io/nvidia/driver:595.91.07"
            ),
            row(
                Category::CrTriplet,
                "spec/driver/manager",
                "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.12.0"
            ),
            row(
                Category::CrTriplet,
                "spec/pinned",
                &format!("nvcr.io/nvidia/driver@{D}")
            ),
            row(
                Category::CrDisabled,
                "spec/dcgm",
                "nvcr.io/nvidia/cloud-native/dcgm:4.6.0-1"
            ),
            // Only the block's own `enabled` counts (as in the gpu-operator corpus).
            row(
                Category::CrTriplet,
                "spec/vgpuManager/driverManager",
                "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.12.0"
            ),
            row(
                Category::CrTriplet,
                "spec/tagged",
                &format!("quay.io/a/b:v1@{D}")
            ),
            row(Category::CrTriplet, "spec/sha", &format!("quay.io/a/c@{D}")),
        ]
    );
    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    assert_eq!(x.warnings[0].path, "spec/incomplete");
    assert!(x.warnings[0].message.contains("incomplete"));
}

#[test]
fn triplet_at_spec_root() {
    let x = run("kind: NVIDIADriver\nmetadata: {name: d}\nspec:\n  repository: nvcr.io/nvidia\n  image: driver\n  version: \"595.91.07\"\n  manager: {}\n");
    assert_eq!(
        found(&x),
        vec![row(
            Category::CrTriplet,
            "spec",
            "nvcr.io/nvidia/driver:595.91.07"
        )]
    );
}

#[test]
fn image_maps() {
    let text = format!(
        r#"
kind: Thing
metadata: {{name: t}}
spec:
  main:
    image:
      registry: registry.k8s.io
      repository: ingress-nginx/controller
      tag: v1.15.1
      digest: {D}
  off:
    enabled: false
    image: {{repository: quay.io/x/y, tag: "2"}}
  word:
    image: {{repository: justaword}}
"#
    );
    let x = run(&text);
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::CrTriplet,
                "spec/main/image",
                &format!("registry.k8s.io/ingress-nginx/controller:v1.15.1@{D}")
            ),
            row(Category::CrDisabled, "spec/off/image", "quay.io/x/y:2"),
        ]
    );
    assert_eq!(x.warnings.len(), 1);
    assert_eq!(x.warnings[0].path, "spec/word/image");
}

#[test]
fn crds_are_skipped() {
    let text = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        properties:
          image: {type: string, description: "quay.io/x/y:1"}
          containers:
            items: {properties: {image: {type: string}}}
          example:
            image: quay.io/not/an-image:1
"#;
    let x = run(text);
    assert!(x.images.is_empty() && x.warnings.is_empty(), "{x:?}");
}

#[test]
fn list_items() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c, image: 'a:1'}]}\n- kind: CustomResourceDefinition\n  spec: {image: 'nope:1'}\n- kind: Thing\n  metadata: {name: t}\n  spec: {image: 'quay.io/t:1'}\n";
    let x = run(text);
    assert_eq!(
        found(&x),
        vec![
            row(Category::Pod, "spec/containers/0/image", "a:1"),
            row(Category::Cr, "spec/image", "quay.io/t:1"),
        ]
    );
    assert_eq!(
        (x.images[0].1.kind.as_str(), x.images[0].1.name.as_str()),
        ("Pod", "a")
    );
    assert_eq!(x.images[1].1.kind, "Thing");
}

#[test]
fn embedded_json_and_yaml() {
    let text = format!(
        r#"
kind: ClusterServiceVersion
metadata:
  name: csv
  annotations:
    alm-examples: |-
      [
        {{"kind": "ClusterPolicy", "spec": {{"dcgm": {{"enabled": true}}}}}},
        {{"kind": "NVIDIADriver", "spec": {{"repository": "nvcr.io/nvidia", "image": "driver", "version": "{D}"}}}}
      ]
    single: '{{"image": "quay.io/one/line:1"}}'
spec:
  relatedImages:
  - {{name: x, image: "ghcr.io/nvidia/gpu-operator:main-latest"}}
---
kind: ConfigMap
metadata: {{name: cm}}
data:
  manifests.yaml: |
    kind: Pod
    spec:
      containers:
      - name: a
        image: quay.io/in/configmap:1
    ---
    kind: Thing
    spec:
      image: vgpu-manager
  script.sh: |
    #!/bin/sh
    echo hello: world
    exit 0
  text: "just some words: not yaml {{"
"#
    );
    let x = run(&text);
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::Embedded,
                "metadata/annotations/alm-examples#1/spec",
                &format!("nvcr.io/nvidia/driver@{D}")
            ),
            row(
                Category::Embedded,
                "metadata/annotations/single#image",
                "quay.io/one/line:1"
            ),
            row(
                Category::Cr,
                "spec/relatedImages/0/image",
                "ghcr.io/nvidia/gpu-operator:main-latest"
            ),
            row(
                Category::Embedded,
                "data/manifests.yaml#doc0/spec/containers/0/image",
                "quay.io/in/configmap:1"
            ),
        ]
    );
    assert_eq!(x.images[0].1.kind, "ClusterServiceVersion");
    assert_eq!(x.images[3].1.kind, "ConfigMap");
    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    assert_eq!(x.warnings[0].path, "data/manifests.yaml#doc1/spec/image");

    // Turned off.
    let limits = Limits {
        max_embed_depth: 0,
        ..Limits::default()
    };
    let x = extract(&text, &origin(), &limits).unwrap();
    assert!(x
        .images
        .iter()
        .all(|(_, o)| o.category != Category::Embedded));
}

#[test]
fn malformed_yaml_names_file_and_stream_line() {
    let text = "---\n# Source: c/a.yaml\nkind: A\n---\n# Source: c/b.yaml\nkind: B\nmetadata:\n  name: [unclosed\n  x: y\n";
    let e = extract(text, &origin(), &Limits::default()).unwrap_err();
    let ExtractError::Yaml {
        file, line, column, ..
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(file, "in.yaml");
    assert!((8..=10).contains(line), "line {line}: {e}");
    assert!(*column >= 1);
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("in.yaml:{line}:")), "{msg}");
    assert_eq!(e.file(), "in.yaml");

    // A document that starts on its `---` line.
    let e = extract("a: 1\n---# c\nb: [\n", &origin(), &Limits::default()).unwrap_err();
    assert!(e.line().is_some_and(|l| (2..=4).contains(&l)), "{e}");
    let e = extract("a: 1\n---\n\tb: 1\n", &origin(), &Limits::default()).unwrap_err();
    assert_eq!(e.line(), Some(3), "{e}");
}

#[test]
fn alias_bomb_fails_fast() {
    let lol = r#"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;
    // Quadratic: one big anchor aliased many times stays under serde_yaml_ng's own
    // repetition limit, so only the node budget stops it.
    let mut quad = String::from("a: &a [");
    quad.push_str(&"x,".repeat(2000));
    quad.push_str("]\nb: [");
    quad.push_str(&"*a,".repeat(50_000));
    quad.push_str("]\n");
    // Long strings aliased many times: the text budget stops it.
    let mut strings = format!("a: &a \"{}\"\nb: [", "x".repeat(1 << 20));
    strings.push_str(&"*a,".repeat(200));
    strings.push_str("]\n");
    for (name, text) in [
        ("billion laughs", lol),
        ("quadratic", &quad),
        ("strings", &strings),
    ] {
        let t = Instant::now();
        let e = extract(text, &origin(), &Limits::default()).unwrap_err();
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{name}: took {:?}",
            t.elapsed()
        );
        assert!(matches!(e, ExtractError::Limit { .. }), "{name}: {e:?}");
        assert!(e.to_string().starts_with("in.yaml:"), "{e}");
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    for text in [
        format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("a: {}", "{a: ".repeat(50_000)),
        (0..5_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>(),
    ] {
        let e = extract(&text, &origin(), &Limits::default()).unwrap_err();
        assert!(e.line().is_some(), "{e}");
    }
    // Nesting just under the limit, with deep JSON embedded twice over.
    let json = |inner: &str| {
        let mut s = String::new();
        for _ in 0..90 {
            s.push_str("{\"a\": ");
        }
        s.push_str(&serde_json_escape(inner));
        s.push_str(&"}".repeat(90));
        s
    };
    let inner = format!(
        "{}{{\"image\": \"quay.io/deep/x:1\"}}{}",
        "{\"a\": ".repeat(90),
        "}".repeat(90)
    );
    let outer = json(&inner);
    let mut text = String::new();
    for _ in 0..90 {
        text.push_str("- ");
    }
    text.push_str(&format!("'{}'\n", outer.replace('\'', "''")));
    let x = run(&text);
    assert_eq!(x.images.len(), 1, "{x:?}");
    let o = &x.images[0].1;
    assert_eq!(
        (o.category, o.original.as_str()),
        (Category::Embedded, "quay.io/deep/x:1")
    );
    assert_eq!(o.path.matches('#').count(), 2, "{}", o.path);
}

fn serde_json_escape(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn limits_on_size_and_documents() {
    let limits = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    let e = extract("kind: Pod\nmetadata: {}\n", &origin(), &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge { size: 23, .. }),
        "{e:?}"
    );
    let limits = Limits {
        max_document_bytes: 12,
        ..Limits::default()
    };
    let e = extract("a: 1\n---\nkind: Pod\nmetadata: {}\n", &origin(), &limits).unwrap_err();
    assert!(matches!(e, ExtractError::Limit { line: 3, .. }), "{e:?}");
    assert!(e.to_string().contains("larger than"), "{e}");
    let limits = Limits {
        max_documents: 2,
        ..Limits::default()
    };
    let e = extract("a: 1\n---\nb: 2\n---\nc: 3\n", &origin(), &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooManyDocuments { line: 5, .. }),
        "{e:?}"
    );
}

#[test]
fn into_inventory_merges_by_normalized_reference() {
    let x = run("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: busybox}\n  - {name: b, image: docker.io/library/busybox:latest}\n  - {name: c, image: nope:Bad Tag}\n");
    let mut inv = Inventory::default();
    x.into_inventory(&mut inv);
    inv.canonicalize();
    assert_eq!(inv.images.len(), 1);
    let e = &inv.images["docker.io/library/busybox:latest"];
    assert_eq!(e.occurrences.len(), 2);
    assert_eq!(inv.warnings.len(), 1);
}

#[test]
fn odd_input_never_panics() {
    let samples = [
        "\u{0}\u{1}\u{2}",
        "\"unterminated",
        "? [a, b]\n: c\n",
        "!!binary aGVsbG8=\n",
        "!custom\nkind: Pod\n",
        "a: !t {image: 'quay.io/x:1'}\n",
        "*undefined\n",
        "&a [*a]\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\n...\n...\nb: 2\n",
        "- - - - -\n",
        "{[]: {}, {}: []}\n",
        "kind: Pod\nspec:\n  containers: [1, 2]\n",
        "kind: Pod\nspec:\n  containers:\n  - {name: a, image: 12}\n  - {name: b, image: [x]}\n  - {name: c, env: [{name: X, value: 'a:1'}, 3], args: [{}, 'b:2']}\n",
        "kind: List\nitems: 3\n",
        "spec: {repository: 3, image: 4, version: 5}\n",
        "spec: {repository: '', image: '@@', version: '::'}\n",
        "data: {x: \"[\\n  {\\\"image\\\": 1}\\n]\"}\n",
        "---\u{feff}\n",
        "\t\t\n---\t\n",
        "\r\n---\r\nkind: Pod\r\n",
        "---ü\nä: ö\n",
    ];
    for s in samples {
        let _ = extract(s, &origin(), &Limits::default());
    }
    // A tiny deterministic fuzzer over YAML-ish tokens.
    let tokens = [
        "---",
        "\n",
        " ",
        "  ",
        "- ",
        ": ",
        "image",
        "containers",
        "env",
        "args",
        "{",
        "}",
        "[",
        "]",
        ",",
        "'",
        "\"",
        "&a ",
        "*a",
        "#",
        "|",
        ">",
        "!t ",
        "a:1",
        "quay.io/x/y:1",
        "repository",
        "version",
        "sha256:",
        "\t",
        "?",
        "%",
        "...",
        "enabled",
        "false",
        "# Source: c/templates/a.yaml\n",
        "helm.sh/hook: x",
        "kind: Pod\n",
        "image: quay.io/x/y:1\n",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut with_lines = 0;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(tokens[(seed % tokens.len() as u64) as usize]);
        }
        // Lines stay inside the input (a manifest), or the files Helm would write for it
        // (two header lines and a blank one at most per document).
        let n = s.lines().count().max(1) as u32;
        if let Ok(x) = extract_manifest(&s, &origin(), &Limits::default()) {
            for (_, o) in &x.images {
                assert!(o.line.is_none_or(|l| (1..=n).contains(&l)), "{s:?}: {o:?}");
                with_lines += usize::from(o.line.is_some());
            }
        }
        if let Ok(x) = extract(&s, &origin(), &Limits::default()) {
            for (_, o) in &x.images {
                assert!(
                    o.line.is_none_or(|l| (1..=4 * n).contains(&l)),
                    "{s:?}: {o:?}"
                );
            }
        }
    }
    // Token soup rarely holds an image; `generated_streams_have_true_lines` has many.
    let _ = with_lines;
}

/// Generated streams (block and flow styles, env entries, repeated images, comments, blank
/// lines, glued separators, anchors): every occurrence's line holds its image.
#[test]
fn generated_streams_have_true_lines() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n) as usize
    };
    let mut checked = 0;
    for k in 0..400 {
        let mut s = String::new();
        for d in 0..1 + next(4) {
            s.push_str(["---\n", "---# c\n", "--- \n", "\n---\n\n"][next(4)]);
            if next(2) == 0 {
                s.push_str(&format!("# Source: c/templates/t{}.yaml\n", next(3)));
            }
            let img = |i: usize| format!("quay.io/r/i{k}-{d}-{i}:1");
            // Sometimes the same image twice in one document (the parsed path).
            let (a, b) = if next(3) == 0 {
                (img(0), img(0))
            } else {
                (img(0), img(1))
            };
            let pad = ["", "\n", "# note\n", "\n  # indented note\n"][next(4)];
            s.push_str(&match next(4) {
                0 => format!("kind: Pod\n{pad}spec:\n  containers:\n  - name: a\n{pad}    image: {a}\n  - name: b\n    image: '{b}'\n"),
                1 => format!("kind: Pod\nspec: {{containers: [{{name: a, image: \"{a}\"}},\n  {pad}{{name: b, image: {b}}}]}}\n"),
                2 => format!("kind: Deployment\nspec:\n  template:\n    spec:\n      containers: &c\n      - name: a\n        image: {a}\n{pad}        env:\n        - name: SIDE_IMAGE\n          value: {b}\n      initContainers: *c\n"),
                _ => format!("kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n  template:\n    spec:\n      containers:\n{pad}      - {{name: a, image: {a}}}\n      - name: b\n        args: [\"--image={b}\"]\n"),
            });
        }
        let file: Vec<&str> = s.lines().collect();
        let x = extract_manifest(&s, &origin(), &Limits::default())
            .unwrap_or_else(|e| panic!("{e}\n{s}"));
        assert!(!x.images.is_empty(), "{s}");
        for (_, o) in &x.images {
            let line = o.line.unwrap_or_else(|| panic!("no line: {o:?}\n{s}"));
            let text = file[line as usize - 1];
            assert!(text.contains(&o.original), "{o:?} at {line}: {text:?}\n{s}");
            checked += 1;
        }
        // As a chart's stream: lines exist and stay in range, nothing panics.
        let x = run(&s);
        for (_, o) in &x.images {
            assert!(
                o.line.is_some_and(|l| l as usize <= 4 * file.len()),
                "{o:?}\n{s}"
            );
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn image_maps_with_a_name() {
    let text = format!(
        r#"
kind: Config
metadata: {{name: kai-config}}
spec:
  binder:
    image: {{name: binder, repository: ghcr.io/kai-scheduler/kai-scheduler, tag: v0.14.1, pullPolicy: IfNotPresent}}
  pinned:
    image: {{name: app, repository: quay.io/org/, digest: "{D}"}}
  untagged:
    image: {{name: binder, repository: ghcr.io/kai-scheduler/kai-scheduler, tag: ""}}
  both:
    image: {{registry: quay.io, repository: org, name: app, tag: "1"}}
  norepo:
    image: {{name: binder, repository: "", tag: v0.14.1}}
"#
    );
    let x = run(&text);
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::CrTriplet,
                "spec/binder/image",
                "ghcr.io/kai-scheduler/kai-scheduler/binder:v0.14.1"
            ),
            row(
                Category::CrTriplet,
                "spec/pinned/image",
                &format!("quay.io/org/app@{D}")
            ),
        ]
    );
    let w: Vec<_> = x
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.value.as_str()))
        .collect();
    assert_eq!(
        w,
        vec![
            (
                "spec/untagged/image",
                "ghcr.io/kai-scheduler/kai-scheduler/binder"
            ),
            ("spec/both/image", "quay.io/org"),
            ("spec/norepo/image", "binder"),
        ]
    );
}

#[test]
fn repository_only_env_and_args_are_not_images() {
    let text = r#"
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
      - name: op
        image: ghcr.io/kai-scheduler/kai-scheduler/operator:v0.14.1
        args:
        - --solver-image=quay.io/jetstack/acmesolver
        - --registry=nvcr.io/nvidia/cloud-native
        - nvcr.io/nvidia/driver
        env:
        - {name: MS_REPOSITORY, value: ghcr.io/kai-scheduler/kai-scheduler}
        - {name: MS_TAG, value: v0.14.1}
        - {name: DRIVER_IMAGE, value: nvcr.io/nvidia/driver}
        - {name: VALIDATOR_IMAGE, value: "nvcr.io/nvidia/gpu-operator:v26.3.2"}
"#;
    let x = run(text);
    let c = "spec/template/spec/containers/0";
    assert_eq!(
        found(&x),
        vec![
            row(
                Category::Pod,
                &format!("{c}/image"),
                "ghcr.io/kai-scheduler/kai-scheduler/operator:v0.14.1"
            ),
            row(
                Category::Env,
                &format!("{c}/env/VALIDATOR_IMAGE"),
                "nvcr.io/nvidia/gpu-operator:v26.3.2"
            ),
        ]
    );
    let w: Vec<_> = x.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        w,
        vec![
            format!("{c}/args/0").as_str(),
            format!("{c}/env/DRIVER_IMAGE").as_str()
        ]
    );
}

/// (path, line) of every occurrence.
fn lines(x: &Extraction) -> Vec<(String, Option<u32>)> {
    x.images
        .iter()
        .map(|(_, o)| (o.path.clone(), o.line))
        .collect()
}

fn at(path: &str, line: u32) -> (String, Option<u32>) {
    (path.to_string(), Some(line))
}

#[test]
fn lines_in_a_plain_manifest() {
    let text = "\
# a manifest
kind: Pod
metadata: {name: a}
spec:
  containers:
  - name: c
    image: busybox:1.36
    args: [\"--x=1\", \"--sidecar=quay.io/a/side:2\"]
    env:
    - name: PLAIN
      value: hello
    - name: HELPER_IMAGE
      value: ghcr.io/a/helper:3
  - {name: d, image: \"alpine:3\"}
---# a glued comment
kind: List
items:
- kind: Pod
  metadata: {name: b}
  spec:
    initContainers: &init
    - name: i
      image: nginx:1
    containers: *init
---
kind: ConfigMap
metadata: {name: cm}
data:
  values.yaml: |
    image: quay.io/embedded/x:4
---
kind: Driver
metadata: {name: drv}
spec:
  enabled: true
  repository: nvcr.io/nvidia
  image: driver
  version: \"550\"
";
    let x = extract_manifest(text, &origin(), &Limits::default()).unwrap();
    assert_eq!(
        lines(&x),
        vec![
            at("spec/containers/0/image", 7),
            at("spec/containers/0/args/1", 8),
            at("spec/containers/0/env/HELPER_IMAGE", 13),
            at("spec/containers/1/image", 14),
            // List items keep item-relative paths; lines are the stream's.
            at("spec/initContainers/0/image", 23),
            // Through an alias: where the anchored text is written.
            at("spec/containers/0/image", 23),
            // Embedded: the line where the string's text starts.
            at("data/values.yaml#image", 30),
            // A triplet: the first of its parts.
            at("spec", 36),
        ]
    );
    // Every line (but the embedded one and the triplet's) holds the reference.
    let file: Vec<&str> = text.lines().collect();
    for (_, o) in &x.images {
        if matches!(o.category, Category::Pod | Category::Env | Category::Arg) {
            let l = file[o.line.unwrap() as usize - 1];
            assert!(l.contains(&o.original), "{l:?} {o:?}");
        }
    }
    // A template's `# Source:` is an ordinary comment in a manifest: lines stay the file's.
    let x = extract_manifest(
        "# Source: c/templates/a.yaml\nkind: Pod\nspec:\n  containers:\n  - {name: a, image: b:1}\n",
        &origin(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(lines(&x), vec![at("spec/containers/0/image", 5)]);
}

/// In a chart's stream, the line is that of the file `helm template --output-dir` writes for
/// the template: every document under its own `---` and `# Source:` header, in Helm's kind
/// order, hooks last (the oracle test `tests/lines.rs` checks this against the Helm SDK).
#[test]
fn lines_in_a_chart_stream_are_output_dir_lines() {
    let pod = |name: &str, image: &str| {
        format!("kind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: {image}\n")
    };
    let text = format!(
        "---\n# Source: c/templates/a.yaml\n{}---\nkind: ServiceAccount\nmetadata:\n  name: sa\n\
         ---\n# Source: c/templates/b.yaml\n{}---\n{}",
        pod("a", "a:1"),
        pod("b", "b:1"),
        pod("c", "c:1").replace(
            "metadata:\n",
            "metadata:\n  annotations:\n    helm.sh/hook: pre-install\n"
        ),
    );
    let x = run(&text);
    let got: Vec<(String, Option<u32>)> = x
        .images
        .iter()
        .map(|(_, o)| (format!("{} {}", o.source, o.original), o.line))
        .collect();
    assert_eq!(
        got,
        vec![
            // a.yaml: the ServiceAccount (lines 1-5, and the blank line the template's text
            // ends with, as it is the template's last document), then the Pod (7-15).
            ("c/templates/a.yaml a:1".to_string(), Some(15)),
            // b.yaml: the Pod (1-9), then the hook (10-20).
            ("c/templates/b.yaml b:1".to_string(), Some(9)),
            ("c/templates/b.yaml c:1".to_string(), Some(20)),
        ]
    );
}

#[test]
fn lines_survive_hostile_documents() {
    // Aliases of aliases with an image at the bottom: one line, no expansion.
    let mut text = String::from("kind: Pod\nx: &a {image: \"quay.io/a/b:1\"}\n");
    for i in 0..20 {
        text.push_str(&format!("y{i}: &a{i} [*a, *a]\n"));
    }
    let x = run(&text);
    assert!(x.images.iter().all(|(_, o)| o.line == Some(2)), "{x:?}");
    // Keys that are not strings, duplicate keys (the last wins) and tags.
    let x = run("kind: Pod\n? [a, b]\n: 1\nspec: !t\n  containers:\n  - {name: a, image: x:1}\nspec:\n  containers:\n  - {name: a, image: y:1}\n");
    assert_eq!(lines(&x), vec![at("spec/containers/0/image", 9)]);
}
