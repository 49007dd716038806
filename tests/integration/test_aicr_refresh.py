"""`refresh` (drift) on AICR's component registry reports what it reports on the same
distribution written in our format, against a real registry (docker-registry on loopback,
answering for every registry of the BOM through `--mirror`, filled with skopeo).

As in crates/imagebom/tests/aicr_commands.rs: the registry keeps the components whose charts
are shipped in ../shared/aicr/charts (mapped with --chart-mirror) and the chart-less ones whose
templated manifests do not read .Values; the recipe in our format lists the same charts and
manifests. Digest-pinned references cannot be served by a registry filled here (their digests
are not ours to make): they stay unresolved (--allow-unresolved) on both sides alike."""
import json
import pathlib
import subprocess

import yaml

from conftest import run, shared
from registry import SKOPEO, Layout, Registry


def reads_values(manifests: pathlib.Path) -> bool:
    return manifests.is_dir() and any(
        "{{" in t and ".Values" in t for t in (p.read_text() for p in manifests.iterdir() if p.is_file()))


def distribution(aicr: pathlib.Path, tmp: pathlib.Path):
    """The subset registry (AICR's format), the recipe in ours, and the --chart-mirror flags."""
    recipes = tmp / "aicr" / "recipes"
    recipes.mkdir(parents=True)
    (recipes / "components").symlink_to(aicr / "recipes" / "components")
    doc = yaml.safe_load((aicr / "recipes" / "registry.yaml").read_text())
    kept, ours, mirrors = [], [], []
    for c in doc["components"]:
        name, h = c["name"], c.get("helm") or {}
        repo = (h.get("defaultRepository") or "").rstrip("/")
        cdir = aicr / "recipes" / "components" / name
        values, manifests = cdir / "values.yaml", cdir / "manifests"
        if repo == "" and reads_values(manifests):
            continue
        if repo and not (aicr / "charts" / name / "Chart.yaml").is_file():
            continue
        kept.append(c)
        o = {"name": name, "manifestsAre": "templates"}
        if h.get("defaultNamespace"):
            o["namespace"] = h["defaultNamespace"]
        if repo:
            chart = h["defaultChart"].rsplit("/", 1)[-1]
            mirrors.append(f"--chart-mirror={repo}/{chart}={aicr / 'charts' / name}")
            o["helm"] = {"repository": repo, "chart": chart, "version": str(h.get("defaultVersion", "")),
                         "releaseName": f"release-{name}"}
            if values.is_file():
                o["helm"]["valuesFiles"] = [str(values)]
                if reads_values(manifests):
                    o["helm"]["values"] = {name: yaml.safe_load(values.read_text())}
        if manifests.is_dir() and any(p.suffix == ".yaml" for p in manifests.iterdir()):
            o["manifests"] = [f"{manifests}/*.yaml"]
        ours.append(o)
    doc["components"] = kept
    (recipes / "registry.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (tmp / "ours").mkdir()
    (tmp / "ours" / "recipe.yaml").write_text(yaml.safe_dump({
        "apiVersion": "imagebom.dev/v1alpha1", "kind": "Recipe",
        "metadata": {"name": "aicr", "version": "1.0.0"}, "components": ours}, sort_keys=False))
    return recipes / "registry.yaml", tmp / "ours" / "recipe.yaml", mirrors


def serve(reg: Registry, layout: pathlib.Path, src: str, ref: str):
    """Copies `layout`'s image `src` to where the registry answers for `ref` (via --mirror)."""
    repo, tag = ref.rsplit(":", 1)
    subprocess.run([SKOPEO, "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{src}",
                    f"docker://{reg.host}/{repo.split('/', 1)[1]}:{tag}"], check=True, capture_output=True)


def images(bom: pathlib.Path):
    doc = json.loads(bom.read_text())
    return sorted(p["value"] for c in doc["components"] if c["type"] == "container"
                  for p in c["properties"] if p["name"] == "imagebom:normalized")


def test_refresh_on_the_aicr_registry_reports_the_drift_of_our_format(tmp_path):
    aicr = shared("aicr")
    assert (aicr / "recipes" / "registry.yaml").is_file(), aicr
    registry, ours, mirrors = distribution(aicr, tmp_path)
    assert len(mirrors) == 11, mirrors
    offline = ["--offline", "--chart-cache", str(tmp_path / "cache"), *mirrors]
    for r in (registry, ours):
        run(["generate", "--format", "cyclonedx", "--recipe", str(r), "--out", str(r.parent / "dist"), *offline],
            timeout=300)
    refs = images(registry.parent / "dist" / "bom.cdx.json")
    assert refs == images(ours.parent / "dist" / "bom.cdx.json")
    assert len(refs) > 40, refs

    reg = Registry(tmp_path / "registry")
    try:
        lay = Layout(tmp_path / "layout")
        lay.tag(lay.image("amd64", text=b"week1"), "w1")
        lay.tag(lay.image("amd64", text=b"week2"), "w2")
        tagged = [r for r in refs if "@" not in r]
        for r in tagged:
            serve(reg, tmp_path / "layout", "w1", r)
        hosts = sorted({r.split("/", 1)[0] for r in refs})
        net = ["--insecure-registry", reg.host, "--allow-unresolved", "--concurrency", "4",
               *[f"--mirror={h}={reg.host}" for h in hosts]]
        reports = []
        for r in (registry, ours):
            run(["lock", "--resolve", "--recipe", str(r), *net, *offline], timeout=300)
            p = run(["refresh", "--report", "json", "--recipe", str(r), *net, *offline], check=False, timeout=300)
            assert p.returncode == 0, p.stderr
            assert json.loads(p.stdout)["digestChanged"] == []
        # A tag moves: both report it, and nothing else.
        moved = tagged[0]
        serve(reg, tmp_path / "layout", "w2", moved)
        for r in (registry, ours):
            p = run(["refresh", "--report", "json", "--recipe", str(r), *net, *offline], check=False, timeout=300)
            assert p.returncode == 1, p.stderr
            reports.append(json.loads(p.stdout))
        assert reports[0] == reports[1]
        assert [c["subject"] for c in reports[0]["digestChanged"]] == [moved], reports[0]
        assert reports[0]["added"] == reports[0]["removed"] == []
    finally:
        reg.stop()
