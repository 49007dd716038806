"""Images a chart declares in Chart.yaml (helm.sh/images, artifacthub.io/images, Bitnami's
images): listed as the `declared` category, checked against what the Helm v4 SDK renders."""
import json
import subprocess
import sys

import yaml

from conftest import run, shared

POD_KEYS = ("containers", "initContainers", "ephemeralContainers")


def helm_render(chart, tmp_path, values=None):
    """The chart's `helm template` stream, rendered by the Helm v4 SDK."""
    out = tmp_path / "helm.yaml"
    args = [sys.executable, str(shared("oracle", "helm_render.py")), str(chart), str(out)]
    if values is not None:
        vf = tmp_path / "helm-values.yaml"
        vf.write_text(yaml.safe_dump(values))
        args.append(str(vf))
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out.read_text()


def helm_images(chart, tmp_path, values=None, text=None):
    """The pod-spec images of the chart as the Helm v4 SDK renders it."""
    text = text if text is not None else helm_render(chart, tmp_path, values)
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in POD_KEYS and isinstance(v, list):
                    found.update(c["image"] for c in v if isinstance(c, dict) and "image" in c)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for doc in yaml.safe_load_all(text):
        walk(doc)
    return found


def annotation(chart, key):
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    return yaml.safe_load(meta["annotations"][key])


def declared(chart, *extra):
    p = run(["images", "--chart", str(chart), "--all", "--json", *extra])
    doc = json.loads(p.stdout)
    occ = {}
    for i in doc["images"]:
        for o in i["occurrences"]:
            if o["category"] == "declared":
                occ.setdefault(o["original"], []).append(o)
    return occ, doc["warnings"]


def check_against_helm(chart, key, tmp_path, values=None, extra=()):
    listed = {e["image"] for e in annotation(chart, key)}
    text = helm_render(chart, tmp_path, values)
    rendered = helm_images(chart, tmp_path, text=text)
    occ, warnings = declared(chart, *extra)
    assert set(occ) == listed
    for image, os_ in occ.items():
        o = os_[0]
        assert o["source"] == f"{chart.name}/Chart.yaml" and o["kind"] == "Chart"
        assert o["path"].startswith(f"annotations[{key}]/")
        # Rendered anywhere: a pod spec, or a configuration string an operator reads.
        state = "rendered" if image in text else "not rendered with these values"
        assert o["reason"].endswith(f"; {state}"), (image, o["reason"], sorted(rendered))
    # Declared-only images behind disabled features are notes, never warnings.
    assert not [w for w in warnings if "declares" in w["message"]], warnings
    # Without --all the list is what the chart renders, as before.
    plain = run(["images", "--chart", str(chart), *extra]).stdout.split()
    return rendered, plain


def test_bitnami_redis_images_annotation(tmp_path):
    chart = shared("corpus", "charts", "redis")
    rendered, plain = check_against_helm(chart, "images", tmp_path)
    assert sorted(plain) == sorted(rendered)
    assert len(annotation(chart, "images")) == 5 and len(rendered) == 1


def test_redis_values_switch_a_declared_image_to_rendered(tmp_path):
    chart = shared("corpus", "charts", "redis")
    values = {"metrics": {"enabled": True}}
    vf = tmp_path / "v.yaml"
    vf.write_text(yaml.safe_dump(values))
    rendered, _ = check_against_helm(chart, "images", tmp_path, values, ["-f", str(vf)])
    assert any("redis-exporter" in r for r in rendered)


def test_jenkins_artifacthub_images_annotation(tmp_path):
    chart = shared("corpus-wide", "charts", "jenkins")
    check_against_helm(chart, "artifacthub.io/images", tmp_path)


def conditional_chart(root):
    """A chart whose helm.sh/images entries use the same condition as a dependency, so Helm's
    enabling of the dependency is the oracle for the entry's condition."""
    top, sub = root / "top", root / "top" / "charts" / "sub"
    (top / "templates").mkdir(parents=True)
    (sub / "templates").mkdir(parents=True)
    (top / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "top", "version": "1.0.0",
        "dependencies": [{"name": "sub", "version": "1.x", "condition": "sub.enabled,global.sub"}],
        "annotations": {"helm.sh/images": yaml.safe_dump([
            {"name": "app", "image": "ghcr.io/acme/app:1.0"},
            {"name": "gated", "image": "ghcr.io/acme/gated:1.0", "condition": "sub.enabled,global.sub"},
            {"name": "sub", "image": "ghcr.io/acme/sub:2.0", "dependency": "sub"},
        ])},
    }))
    (top / "values.yaml").write_text("sub:\n  enabled: false\n")
    (top / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: top}\nspec:\n  containers:\n"
        "    - {name: a, image: ghcr.io/acme/app:1.0}\n")
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 1.2.0\n")
    (sub / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: sub}\nspec:\n  containers:\n"
        "    - {name: s, image: ghcr.io/acme/sub:2.0}\n")
    return top


def test_conditions_and_dependencies_follow_helm(tmp_path):
    top = conditional_chart(tmp_path)
    cases = [None, {"sub": {"enabled": True}}, {"sub": {"enabled": "yes"}, "global": {"sub": True}},
             {"sub": {"enabled": "yes"}, "global": {"sub": False}}, {"global": {"sub": True}}]
    for i, values in enumerate(cases):
        d = tmp_path / f"case{i}"
        d.mkdir()
        extra = []
        if values is not None:
            (d / "v.yaml").write_text(yaml.safe_dump(values))
            extra = ["-f", str(d / "v.yaml")]
        enabled = "ghcr.io/acme/sub:2.0" in helm_images(top, d, values)
        occ, warnings = declared(top, *extra)
        assert "ghcr.io/acme/app:1.0" in occ, values
        assert ("ghcr.io/acme/gated:1.0" in occ) == enabled, values
        assert ("ghcr.io/acme/sub:2.0" in occ) == enabled, values
        if enabled:
            o = occ["ghcr.io/acme/sub:2.0"][0]
            assert o["reason"] == 'declared by chart top/charts/sub (helm.sh/images "sub"); rendered'
        assert warnings == [], warnings


def skew_chart(root):
    chart = root / "skewed"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: skewed\nversion: 0.3.0\nannotations:\n"
        "  helm.sh/images: |\n    - name: app\n      image: ghcr.io/acme/app:1.4.0\n")
    (chart / "values.yaml").write_text("tag: 1.5.0\n")
    (chart / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: app\n"
        "          image: ghcr.io/acme/app:{{ .Values.tag }}\n")
    return chart


def test_skew_between_annotation_and_render_warns(tmp_path):
    chart = skew_chart(tmp_path)
    assert helm_images(chart, tmp_path) == {"ghcr.io/acme/app:1.5.0"}
    p = run(["images", "--chart", str(chart)])
    assert p.stdout.split() == ["ghcr.io/acme/app:1.5.0"]
    warning = [line for line in p.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [
        "warning: skewed/Chart.yaml: Chart/skewed at annotations[helm.sh/images]/0/image: chart skewed "
        "declares ghcr.io/acme/app:1.4.0 in its helm.sh/images annotation, but renders "
        "ghcr.io/acme/app:1.5.0 (skewed/templates/deploy.yaml): the chart and its annotation "
        "disagree (\"ghcr.io/acme/app:1.4.0\")"
    ], p.stderr
    # Values that make the render agree silence it.
    vf = tmp_path / "v.yaml"
    vf.write_text("tag: 1.4.0\n")
    p = run(["images", "--chart", str(chart), "-f", str(vf)])
    assert "warning" not in p.stderr, p.stderr


def test_generate_carries_declared_images_into_valid_boms(tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from conftest import tool

    skew_chart(tmp_path)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n"
        "components:\n  - name: web\n    helm: {repository: ./skewed, chart: skewed, version: 0.3.0}\n")
    out = tmp_path / "dist"
    p = run(["generate", "--recipe", str(recipe), "--out", str(out), "--offline"])
    assert "declares ghcr.io/acme/app:1.4.0" in p.stderr, p.stderr
    cdx_text = (out / "bom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx_text) is None
    cdx = json.loads(cdx_text)
    cats = {}
    for c in cdx["components"]:
        if c["type"] == "container":
            props = c.get("properties", [])
            key = next(x["value"] for x in props if x["name"] == "imagebom:normalized")
            cats[key] = [x["value"] for x in props if x["name"] == "imagebom:category"]
    assert cats == {"ghcr.io/acme/app:1.4.0": ["declared"], "ghcr.io/acme/app:1.5.0": ["pod"]}
    v = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")],
                       capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stdout + v.stderr
    spdx = (out / "bom.spdx.json").read_text()
    assert "declared" in spdx
    md = (out / "inventory.md").read_text()
    assert "declared" in md and "the chart and its annotation disagree" in md


def test_check_does_not_gate_declared_only_images_and_mirror_lists_them(tmp_path):
    skew_chart(tmp_path)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n"
        "components:\n  - name: web\n    helm: {repository: ./skewed, chart: skewed, version: 0.3.0}\n")
    p = run(["check", "--recipe", str(recipe), "--offline"], check=False)
    assert p.returncode == 1, p.stderr
    assert "ghcr.io/acme/app:1.5.0 is not pinned" in p.stdout
    assert "1.4.0" not in p.stdout
    p = run(["mirror", "--recipe", str(recipe), "--format", "list", "--offline"])
    assert p.stdout.split() == ["ghcr.io/acme/app:1.4.0", "ghcr.io/acme/app:1.5.0"], p.stderr
