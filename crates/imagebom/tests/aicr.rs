//! Acceptance on AICR (`shared/aicr`): a recipe written at test time covers the 11 components
//! whose charts ship there, each with AICR's name, namespace (`recipes/registry.yaml`
//! `defaultNamespace`), release `release-<name>` and base values file
//! (`recipes/components/<name>/values.yaml`). AICR deploys a component's in-tree manifests
//! (Go templates) as a second release `<name>-post`; the test packs them into a chart
//! (`.Values` = `{<name>: values}`, the component chart's name and version) and adds it as
//! component `<name>-post`. `imagebom generate` must then list every image that AICR's
//! `container-images.md` lists for these components; every other image it lists carries its
//! evidence (component, template, path) and occurs in the Helm SDK's render of the same chart
//! and values, literally or as the parts it is composed of. Components that still differ are
//! listed in [`KNOWN`], which the test checks exactly.
//!
//! Paths: `$IMAGEBOM_AICR` (default `<workspace>/../shared/aicr`), the Helm SDK oracle's Python
//! in `$IMAGEBOM_VENV` (default `<workspace>/.venv`). A missing tree or oracle fails.

use assert_cmd::Command;
use imagebom_model::ImageRef;
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Components that still differ from AICR's list or from Helm: component, reason, owner.
/// Checked exactly: a component listed here that no longer differs fails the test, and so
/// does an unlisted component that differs.
const KNOWN: &[(&str, &str, &str)] = &[];

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[imagebom_testkit::Need] =
    &[imagebom_testkit::Need::AICR, imagebom_testkit::Need::Venv];

/// A `---` line with text after it (`---# comment`) as two lines, the way Helm's
/// `SplitManifests` (`(?m)^---[ \t]*`) reads it.
fn split_glued_separators(stream: &str) -> String {
    let mut out = String::with_capacity(stream.len());
    for line in stream.split_inclusive('\n') {
        match line.strip_prefix("---") {
            Some(rest)
                if !rest.trim_start_matches([' ', '\t']).trim_end().is_empty()
                    && !rest.starts_with('-') =>
            {
                out.push_str("---\n");
                out.push_str(rest.trim_start_matches([' ', '\t']));
            }
            _ => out.push_str(line),
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn yaml(p: &Path) -> Yaml {
    serde_yaml_ng::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The components with a chart under `charts/`.
fn components() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(imagebom_testkit::Need::AICR.path().join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `defaultNamespace` of each component of `recipes/registry.yaml`.
fn namespaces() -> BTreeMap<String, String> {
    let reg = yaml(
        &imagebom_testkit::Need::AICR
            .path()
            .join("recipes/registry.yaml"),
    );
    reg["components"]
        .as_sequence()
        .expect("registry.yaml: components")
        .iter()
        .filter_map(|c| {
            let ns = c["helm"]["defaultNamespace"].as_str()?;
            Some((c["name"].as_str()?.to_string(), ns.to_string()))
        })
        .collect()
}

/// AICR's image inventory: the `- \`ref\`` items under each `### <component>` heading of the
/// "Images by component" section.
fn inventory() -> BTreeMap<String, BTreeSet<String>> {
    let text = read(
        &imagebom_testkit::Need::AICR
            .path()
            .join("container-images.md"),
    );
    let section = text
        .split_once("## Images by component")
        .expect("container-images.md: no image section")
        .1;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in section.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = Some(name.trim().to_string());
            out.entry(name.trim().to_string()).or_default();
        } else if line.starts_with("## ") || line.starts_with("<!-- END") {
            break;
        } else if let (Some(c), Some(item)) = (&current, line.strip_prefix("- `")) {
            let r = item
                .strip_suffix('`')
                .expect("inventory item ends with a backtick");
            out.get_mut(c).unwrap().insert(r.to_string());
        }
    }
    out
}

/// The chart `name` and `version` of a component's chart.
fn chart_meta(component: &str) -> (String, String) {
    let c = yaml(
        &imagebom_testkit::Need::AICR
            .path()
            .join("charts")
            .join(component)
            .join("Chart.yaml"),
    );
    let s = |k: &str| {
        c[k].as_str()
            .unwrap_or_else(|| panic!("{component}: Chart.yaml {k}"))
    };
    (s("name").to_string(), s("version").to_string())
}

/// The `<name>-post` chart of a component's in-tree manifests, written under `dir`, or None
/// when the component has none.
fn post_chart(component: &str, dir: &Path) -> Option<PathBuf> {
    let src = imagebom_testkit::Need::AICR
        .path()
        .join("recipes/components")
        .join(component);
    let manifests: Vec<PathBuf> = std::fs::read_dir(src.join("manifests"))
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    if manifests.is_empty() {
        return None;
    }
    let chart = dir.join(format!("{component}-post"));
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    let (name, version) = chart_meta(component);
    let version = version.strip_prefix('v').unwrap_or(&version);
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
    )
    .unwrap();
    let values = match yaml(&src.join("values.yaml")) {
        Yaml::Null => Yaml::Mapping(Default::default()),
        v => v,
    };
    let mut nested = serde_yaml_ng::Mapping::new();
    nested.insert(Yaml::String(component.into()), values);
    std::fs::write(
        chart.join("values.yaml"),
        serde_yaml_ng::to_string(&nested).unwrap(),
    )
    .unwrap();
    for m in manifests {
        std::fs::copy(&m, chart.join("templates").join(m.file_name().unwrap())).unwrap();
    }
    Some(chart)
}

/// One recipe component, as YAML lines.
fn recipe_component(name: &str, ns: &str, release: &str, chart: &Path, values: &Path) -> String {
    let chart_name = yaml(&chart.join("Chart.yaml"))["name"]
        .as_str()
        .unwrap()
        .to_string();
    format!(
        "  - name: {name}\n    namespace: {ns}\n    helm:\n      repository: {}\n      chart: {chart_name}\n      releaseName: {release}\n      valuesFiles: [{}]\n",
        chart.display(),
        values.display()
    )
}

/// A chart to render: recipe component, chart directory, values file, release, namespace.
struct Release {
    component: String,
    chart: PathBuf,
    values: PathBuf,
    release: String,
    namespace: String,
}

/// The releases of the 11 components (charts and `-post` charts), and the recipe of them.
fn write_recipe(dir: &Path) -> (PathBuf, Vec<Release>) {
    let ns = namespaces();
    let mut releases = Vec::new();
    for c in components() {
        let namespace = ns
            .get(&c)
            .unwrap_or_else(|| panic!("{c}: no defaultNamespace in registry.yaml"))
            .clone();
        let values = imagebom_testkit::Need::AICR
            .path()
            .join("recipes/components")
            .join(&c)
            .join("values.yaml");
        if let Some(post) = post_chart(&c, dir) {
            releases.push(Release {
                component: format!("{c}-post"),
                values: post.join("values.yaml"),
                chart: post,
                release: format!("{c}-post"),
                namespace: namespace.clone(),
            });
        }
        releases.push(Release {
            component: c.clone(),
            chart: imagebom_testkit::Need::AICR.path().join("charts").join(&c),
            values,
            release: format!("release-{c}"),
            namespace,
        });
    }
    releases.sort_by(|a, b| a.component.cmp(&b.component));
    let mut recipe = String::from(
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: aicr, version: 23e97a7d}\ncomponents:\n",
    );
    for r in &releases {
        recipe.push_str(&recipe_component(
            &r.component,
            &r.namespace,
            &r.release,
            &r.chart,
            &r.values,
        ));
    }
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, recipe).unwrap();
    (path, releases)
}

/// The Helm SDK's render of a release as `helm template` prints it (`shared/oracle`'s
/// `helm_render.py` stream: templates in path order, NOTES.txt and blank ones left out).
fn sdk_render(r: &Release) -> String {
    let code = "import sys, yaml, helm_python as helm\n\
                values = yaml.safe_load(open(sys.argv[2])) or {}\n\
                with helm.Chart.load(sys.argv[1]) as c:\n\
                \x20   m = c.render(values, name=sys.argv[3], namespace=sys.argv[4], is_install=True)\n\
                for p, t in sorted(m.items()):\n\
                \x20   if not p.endswith('NOTES.txt') and t.strip():\n\
                \x20       sys.stdout.write(f'---\\n# Source: {p}\\n{t.strip()}\\n')\n";
    let o = std::process::Command::new(imagebom_testkit::Need::Venv.path())
        .arg("-c")
        .arg(code)
        .arg(&r.chart)
        .arg(&r.values)
        .arg(&r.release)
        .arg(&r.namespace)
        .output()
        .expect("running the Helm SDK oracle");
    assert!(
        o.status.success(),
        "Helm SDK on {}: {}",
        r.component,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One image of the BOM: as written, normalised, and its occurrences (component, source,
/// kind/name, path, category).
struct Image {
    reference: String,
    normalized: String,
    occurrences: Vec<[String; 5]>,
}

fn bom_images(cdx: &serde_json::Value) -> Vec<Image> {
    let prop = |c: &serde_json::Value, name: &str| -> Vec<String> {
        c["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect()
    };
    cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "container")
        .map(|c| Image {
            reference: prop(c, "imagebom:reference").concat(),
            normalized: prop(c, "imagebom:normalized").concat(),
            occurrences: prop(c, "imagebom:occurrence")
                .iter()
                .map(|o| {
                    let f: Vec<&str> = o.splitn(5, '|').collect();
                    assert_eq!(f.len(), 5, "occurrence {o:?}");
                    [f[0], f[1], f[2], f[3], f[4]].map(str::to_string)
                })
                .collect(),
        })
        .collect()
}

fn normalized(r: &str) -> String {
    ImageRef::parse(r)
        .unwrap_or_else(|e| panic!("container-images.md: {r}: {e}"))
        .normalized()
}

/// The scalar entries (key, value as a string) of every YAML mapping of a rendered stream.
fn mappings(render: &str) -> Vec<BTreeMap<String, String>> {
    fn scalar(v: &Yaml) -> Option<String> {
        match v {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    fn walk(v: &Yaml, out: &mut Vec<BTreeMap<String, String>>) {
        match v {
            Yaml::Mapping(m) => {
                out.push(
                    m.iter()
                        .filter_map(|(k, x)| Some((scalar(k)?, scalar(x)?)))
                        .collect(),
                );
                m.values().for_each(|x| walk(x, out));
            }
            Yaml::Sequence(s) => s.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut doc = String::new();
    for line in render.lines().chain(["---"]) {
        if line.starts_with("---") {
            if let Ok(v) = serde_yaml_ng::from_str::<Yaml>(&doc) {
                walk(&v, &mut out);
            }
            doc.clear();
        } else {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    out
}

/// Whether `text` holds `word` not as a part of a longer reference.
fn has_token(text: &str, word: &str) -> bool {
    let part =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || "._:@/-".contains(c));
    text.match_indices(word).any(|(i, _)| {
        !part(text[..i].chars().next_back()) && !part(text[i + word.len()..].chars().next())
    })
}

/// Keys of a mapping that name a part of an image reference.
const PART_KEYS: [&str; 7] = [
    "registry",
    "repository",
    "image",
    "name",
    "tag",
    "version",
    "digest",
];

/// Whether the Helm render holds the image: the reference as written (or normalised)
/// literally, or composed from the entries of one mapping: its name whole or split at a `/`
/// into two values (`repository` + `image`, `registry` + `repository`), its tag and digest
/// values too, and no value of a [`PART_KEYS`] entry of that mapping left out.
fn occurs_in(render: &str, img: &Image) -> bool {
    if has_token(render, &img.reference) || has_token(render, &img.normalized) {
        return true;
    }
    let (base, digest) = match img.reference.split_once('@') {
        Some((b, d)) => (b, Some(d)),
        None => (img.reference.as_str(), None),
    };
    let (name, tag) = match base.rfind(':') {
        Some(i) if !base[i..].contains('/') => (&base[..i], Some(&base[i + 1..])),
        _ => (base, None),
    };
    let mut names = vec![vec![name]];
    names.extend(
        name.match_indices('/')
            .map(|(i, _)| vec![&name[..i], &name[i + 1..]]),
    );
    mappings(render).iter().any(|m| {
        let values: BTreeSet<&str> = m.values().map(String::as_str).collect();
        names.iter().any(|pieces| {
            let used: BTreeSet<&str> = pieces.iter().copied().chain(tag).chain(digest).collect();
            used.is_subset(&values)
                && PART_KEYS
                    .iter()
                    .filter_map(|k| m.get(*k))
                    .all(|v| used.contains(v.as_str()))
        })
    })
}

/// What differs for one AICR component ("" when nothing): images AICR lists that we miss,
/// our images without evidence, and images the Helm render does not hold.
fn check_component(
    c: &str,
    want: &BTreeSet<String>,
    images: &[Image],
    renders: &BTreeMap<String, String>,
) -> String {
    let mine = |o: &[String; 5]| o[0] == c || o[0] == format!("{c}-post");
    let ours: Vec<&Image> = images
        .iter()
        .filter(|i| i.occurrences.iter().any(mine))
        .collect();
    let have: BTreeSet<&str> = ours.iter().map(|i| i.normalized.as_str()).collect();
    let mut report = String::new();
    for w in want {
        if !have.contains(normalized(w).as_str()) {
            let _ = writeln!(report, "  missing: {w}");
        }
    }
    let want_n: BTreeSet<String> = want.iter().map(|w| normalized(w)).collect();
    for img in &ours {
        let occ: Vec<&[String; 5]> = img.occurrences.iter().filter(|o| mine(o)).collect();
        let render: String = occ
            .iter()
            .filter_map(|o| renders.get(&o[0]))
            .cloned()
            .collect();
        if !occurs_in(&render, img) {
            let _ = writeln!(report, "  not in Helm's render: {}", img.reference);
        }
        if want_n.contains(&img.normalized) {
            continue;
        }
        let untagged = !img.reference.contains('@')
            && !img
                .reference
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .contains(':');
        if untagged && occ.iter().all(|o| o[4] == "env" || o[4] == "arg") {
            let _ = writeln!(
                report,
                "  extra without tag or digest, only in env/args (a repository, not an image): {}",
                img.reference
            );
        }
        match occ.iter().find(|o| !o[1].is_empty() && !o[3].is_empty()) {
            Some(o) => eprintln!(
                "  {c}: extra {} ({}: {} {} {})",
                img.reference, o[4], o[1], o[2], o[3]
            ),
            None => {
                let _ = writeln!(report, "  extra without evidence: {}", img.reference);
            }
        }
    }
    report
}

#[test]
fn aicr_components_list_aicr_images_and_only_real_ones() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (recipe, releases) = write_recipe(tmp.path());
    let names = components();
    assert_eq!(names.len(), 11, "AICR charts: {names:?}");
    let out = tmp.path().join("out");
    let run = Command::cargo_bin("imagebom")
        .unwrap()
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .args([
            "generate",
            "--offline",
            "--keep-going",
            "--format",
            "cyclonedx",
            "--recipe",
        ])
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        matches!(run.status.code(), Some(0..=3)),
        "generate: {:?}\n{stderr}",
        run.status
    );
    let bom = out.join("bom.cdx.json");
    assert!(bom.is_file(), "no BOM written:\n{stderr}");
    let cdx: serde_json::Value = serde_json::from_slice(&std::fs::read(bom).unwrap()).unwrap();
    let images = bom_images(&cdx);
    let renders: BTreeMap<String, String> = releases
        .iter()
        .map(|r| (r.component.clone(), sdk_render(r)))
        .collect();
    let inventory = inventory();
    let mut failures = String::new();
    let mut total = (0, 0);
    for c in &names {
        let want = inventory
            .get(c)
            .unwrap_or_else(|| panic!("{c}: not in container-images.md"));
        total.0 += want.len();
        let mut report = check_component(c, want, &images, &renders);
        for line in stderr
            .lines()
            .filter(|l| l.contains(c.as_str()) && l.contains("error"))
        {
            let _ = writeln!(report, "  generate: {line}");
        }
        match (KNOWN.iter().find(|k| k.0 == c), report.is_empty()) {
            (None, true) => total.1 += 1,
            (Some((_, reason, owner)), false) => {
                eprintln!("{c}: known ({owner}: {reason}):\n{report}")
            }
            (None, false) => {
                let _ = write!(failures, "{c} differs:\n{report}");
            }
            (Some((_, reason, owner)), true) => {
                let _ = writeln!(
                    failures,
                    "{c} now gives AICR's images: remove it from KNOWN ({owner}: {reason})"
                );
            }
        }
    }
    eprintln!(
        "{} components, {} images in AICR's list; {} components agree",
        names.len(),
        total.0,
        total.1
    );
    assert!(
        failures.is_empty(),
        "{failures}\ngenerate stderr:\n{stderr}"
    );
}

/// Secret entries the charts fill with random bytes (`randAscii | b64enc`): component, key.
/// Their lines are compared by shape: same length, both base64.
const RANDOM: &[(&str, &str)] = &[("slinky-slurm", "jwt.key"), ("slinky-slurm", "slurm.key")];

/// Masks the random entries of `component`: `  KEY: VALUE` becomes `  KEY: <base64 of
/// length N>` (or `<not base64>`).
fn mask_random(component: &str, text: &str) -> String {
    let b64 = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    };
    text.lines()
        .map(|l| {
            let hit = RANDOM.iter().filter(|r| r.0 == component).find_map(|r| {
                l.strip_prefix("  ")
                    .and_then(|x| x.strip_prefix(r.1))
                    .and_then(|x| x.strip_prefix(": "))
                    .map(|v| (r.1, v))
            });
            match hit {
                Some((k, v)) if b64(v) => format!("  {k}: <base64 of length {}>\n", v.len()),
                Some((k, _)) => format!("  {k}: <not base64>\n"),
                None => format!("{l}\n"),
            }
        })
        .collect()
}

/// Every AICR chart (and `-post` chart) rendered by `imagebom render` with AICR's values,
/// release and namespace is Helm's render byte for byte, up to [`RANDOM`].
#[test]
fn aicr_charts_render_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_, releases) = write_recipe(tmp.path());
    let mut failures = String::new();
    let (mut bytes, mut random) = (0, 0);
    for r in &releases {
        let run = Command::cargo_bin("imagebom")
            .unwrap()
            .args(["render", "--offline", "-f"])
            .arg(&r.values)
            .args(["--release", &r.release, "-n", &r.namespace])
            .arg(&r.chart)
            .output()
            .unwrap();
        if !run.status.success() {
            let _ = writeln!(
                failures,
                "{}: imagebom render failed: {}",
                r.component,
                String::from_utf8_lossy(&run.stderr)
            );
            continue;
        }
        let got = String::from_utf8(run.stdout).unwrap();
        // `imagebom render` prints a `---` glued to what follows (cert-manager's `---# …`) split,
        // as Helm's SplitManifests splits it; the SDK's raw stream keeps it glued.
        let want = split_glued_separators(&sdk_render(r));
        assert!(
            want.contains("# Source:"),
            "{}: empty Helm render",
            r.component
        );
        if got == want {
            bytes += 1;
        } else if mask_random(&r.component, &got) == mask_random(&r.component, &want) {
            random += 1;
        } else {
            let (g, w) = (
                mask_random(&r.component, &got),
                mask_random(&r.component, &want),
            );
            let line = g
                .lines()
                .zip(w.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(g.lines().count().min(w.lines().count()));
            let _ = writeln!(
                failures,
                "{}: differs from Helm at line {}: native {:?} / helm {:?}",
                r.component,
                line + 1,
                g.lines().nth(line),
                w.lines().nth(line)
            );
        }
    }
    eprintln!(
        "{} releases: {bytes} equal byte for byte, {random} equal up to random keys",
        releases.len()
    );
    assert!(failures.is_empty(), "{failures}");
}
