"""The air gap end to end, with real parts: a source registry plays the internet (every
upstream registry of the bundled recipe, and its chart as an OCI chart), `imagebom mirror`
writes the plan, `skopeo sync` and the generated chart-copy script fill a mirror registry,
the source is stopped, and the same recipe rendered and resolved against the mirror only
gives the same lock and BOMs byte for byte. A second mirror, filled with `--platform
linux/amd64`, holds exactly the chosen platform manifests (`skopeo inspect --raw`)."""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import io

import pytest
import yaml

from conftest import ROOT, run
from registry import SKOPEO, Layout, Registry
from test_mirror import HAULER_CHARTS, HAULER_IMAGES, ZARF, _validate

CHARTS = "oci://charts.example/imagebom"  # the chart's canonical repository in the recipe


def air_recipe(work):
    """The bundled recipe and its fixtures, copied, with its chart moved to an OCI repository."""
    shutil.copytree(ROOT / "recipes", work / "recipes", ignore=shutil.ignore_patterns("imagebom.lock"))
    shutil.copytree(ROOT / "fixtures" / "manifests", work / "fixtures" / "manifests")
    shutil.copytree(ROOT / "fixtures" / "charts" / "platform", work / "fixtures" / "charts" / "platform")
    recipe = work / "recipes" / "registry.yaml"
    text = recipe.read_text().replace("repository: ../fixtures/charts/platform", f"repository: {CHARTS}")
    assert CHARTS in text
    recipe.write_text(text)
    return recipe


def repin(work, upstream_to_source):
    """Each upstream digest in the copy (of an image this machine cannot fetch) replaced by the
    digest of the source registry's image of the same name: the recipe stays pinned as it is."""
    files = [p for p in (work / "fixtures").rglob("*") if p.is_file()] + [work / "recipes" / "registry.yaml"]
    for p in files:
        text = p.read_text()
        for old, new in upstream_to_source.items():
            text = text.replace(old, new)
        p.write_text(text)


def chart_layout(root, chart_dir):
    """The chart packaged as Helm does (`<name>/…` in a gzip tar) in an OCI layout with Helm's
    media types, tagged with its version."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        for p in sorted(chart_dir.rglob("*")):
            if p.is_file():
                info = tarfile.TarInfo(f"platform/{p.relative_to(chart_dir)}")
                data = p.read_bytes()
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                t.addfile(info, io.BytesIO(data))
    lay = Layout(root)
    cfg = lay.blob(json.dumps({"apiVersion": "v2", "name": "platform", "version": "1.0.0"}).encode(),
                   "application/vnd.cncf.helm.config.v1+json")
    layer = lay.blob(buf.getvalue(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": cfg, "layers": [layer]}
    lay.tag(lay.blob(json.dumps(man).encode(), man["mediaType"]), "1.0.0")
    return "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest()


def fill_source(src, root, images):
    """Every image of the plan as a two-platform index (linux/amd64, linux/arm64/v8), at the
    scoped path `<source>/<registry>/<repository>:<tag>`: upstream digest → source digest."""
    pins = {}
    for i, img in enumerate(images):
        tag = img.get("tag", "latest")
        lay = Layout(root / f"img{i}")
        text = img["source"].encode()
        lay.tag(lay.index([lay.image("amd64", text=text), lay.image("arm64", "v8", text=text)]), tag)
        src.push(root / f"img{i}", tag, img["source"])
        if "digest" in img:
            pins[img["digest"]] = "sha256:" + hashlib.sha256(src.raw(f"{img['source']}:{tag}")).hexdigest()
    return pins


def site_skopeo(dir, registries, src):
    """`skopeo` as a site that reaches upstream through a proxy runs it: its registries.conf
    pulls each upstream registry from the source registry's scoped path (skopeo's
    `--registries-conf`, in a wrapper first on PATH so that the generated script uses it too)."""
    dir.mkdir()
    conf = dir / "registries.conf"
    conf.write_text("".join(
        f'[[registry]]\nprefix = "{r}"\nlocation = "{r}"\n\n[[registry.mirror]]\n'
        f'location = "{src.host}/{r}"\ninsecure = true\n\n' for r in registries))
    wrapper = dir / "skopeo"
    wrapper.write_text(f'#!/bin/sh\nexec {SKOPEO} --registries-conf {conf} "$@"\n')
    wrapper.chmod(0o755)
    return dict(os.environ, PATH=f"{dir}:{os.environ['PATH']}")


def mirrors(registries, host):
    return [a for r in registries for a in ("--mirror", f"{r}={host}/{r}")]


def resolve_and_generate(recipe, lock, out, registries, host, chart_mirror, cache):
    """`lock --resolve` (every image asked for again, nothing cached) then `generate` from it."""
    common = ["--recipe", str(recipe), "--lock", str(lock), "--insecure-registry", host,
              "--chart-mirror", chart_mirror, "--chart-cache", str(cache)]
    run(["lock", "--resolve", "--refresh", *mirrors(registries, host), *common], timeout=300)
    run(["generate", *common, "--out", str(out)], timeout=300)


def test_airgap_end_to_end(tmp_path):
    work = tmp_path / "work"
    recipe = air_recipe(work)
    images = json.loads(run(["mirror", "--format", "plan", "--recipe", str(recipe),
                             "--lock", str(ROOT / "recipes" / "imagebom.lock"),
                             "--chart-mirror", f"{CHARTS}={work / 'fixtures' / 'charts'}"]).stdout)["images"]
    assert len(images) >= 10, images
    registries = sorted({i["source"].split("/", 1)[0] for i in images} | {"charts.example"})
    src = Registry(tmp_path / "source")
    mirror = Registry(tmp_path / "mirror")
    narrow = Registry(tmp_path / "narrow")
    copied = Registry(tmp_path / "copied")
    try:
        pins = fill_source(src, tmp_path / "layouts", images)
        assert len(pins) >= 8, pins
        repin(work, pins)
        chart_digest = chart_layout(tmp_path / "chart", work / "fixtures" / "charts" / "platform")
        src.push(tmp_path / "chart", "1.0.0", "charts.example/imagebom/platform")

        # 1. Online: resolve against the source, write the lock and the BOMs.
        lock1, out1 = tmp_path / "source.lock", tmp_path / "out-source"
        from_source = f"{CHARTS}=oci://{src.host}/charts.example/imagebom"
        resolve_and_generate(recipe, lock1, out1, registries, src.host, from_source, tmp_path / "cc1")
        locked = json.loads(lock1.read_text())["images"]
        assert len(locked) == len(images) and all(e["source"] == "registry" for e in locked.values())
        assert all(any(d in k for k in locked) for d in pins.values())  # still pinned

        # 2. The plan, and the copy: images with skopeo sync, charts with the generated script.
        env = site_skopeo(tmp_path / "site", registries, src)
        plan = ["--recipe", str(recipe), "--lock", str(lock1), "--chart-mirror", from_source,
                "--chart-cache", str(tmp_path / "cc1"), "--insecure-registry", src.host,
                "--insecure-registry", mirror.host]
        sync = tmp_path / "sync.yaml"
        run(["mirror", "--format", "skopeo-sync", "--out", str(sync), *plan])
        p = subprocess.run(["skopeo", "sync", "--all", "--scoped", "--preserve-digests", "--src", "yaml",
                            "--dest", "docker", "--dest-tls-verify=false", str(sync), mirror.host],
                           capture_output=True, text=True, timeout=600, env=env)
        assert p.returncode == 0, p.stderr
        charts = json.loads(run(["mirror", "--format", "plan", "--target", mirror.host, *plan]).stdout)["charts"]
        # The chart, and the subcharts vendored in it (they travel inside its archive: no target).
        [chart] = [c for c in charts if not c.get("subchartOf")]
        assert chart["target"] == f"oci://{mirror.host}/charts/platform:1.0.0", chart
        assert chart["versionFrom"] == "rendered" and chart["digest"] == chart_digest, chart
        subcharts = [c for c in charts if c.get("subchartOf")]
        assert subcharts and all(c["kind"] == "local" and not c.get("target") for c in subcharts), subcharts
        script = run(["mirror", "--format", "chart-copy", "--target", mirror.host, *plan]).stdout
        p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode == 0, p.stderr + script

        # The --platform mirror, while the source still runs.
        amd64 = tmp_path / "amd64.yaml"
        run(["mirror", "--format", "skopeo-sync", "--platform", "linux/amd64", "--out", str(amd64), *plan])
        p = subprocess.run(["skopeo", "sync", "--scoped", "--preserve-digests", "--src", "yaml", "--dest", "docker",
                            "--dest-tls-verify=false", str(amd64), narrow.host],
                           capture_output=True, text=True, timeout=600, env=env)
        assert p.returncode == 0, p.stderr
        # The same choice as copy commands: each amd64 manifest by digest, flat layout.
        script = run(["mirror", "--format", "skopeo-copy", "--platform", "linux/amd64",
                      "--target", f"{copied.host}/air", "--insecure-registry", copied.host, *plan]).stdout
        assert "--all" not in script, script
        p = subprocess.run(["sh", "-ec", script], capture_output=True, text=True, timeout=600, env=env)
        assert p.returncode == 0, p.stderr + script

        # Hauler and Zarf, with the OCI chart: their shapes, and the chart where they look for it.
        hauler = list(yaml.safe_load_all(run(["mirror", "--format", "hauler", *plan]).stdout))
        _validate(hauler[0], HAULER_IMAGES)
        _validate(hauler[1], HAULER_CHARTS)
        assert hauler[1]["spec"]["charts"] == [{"name": "platform", "repoURL": CHARTS, "version": "1.0.0"}]
        zarf = yaml.safe_load(run(["mirror", "--format", "zarf", *plan]).stdout)
        _validate(zarf, ZARF)
        [zchart] = [c for comp in zarf["components"] for c in comp.get("charts", [])]
        assert zchart == {"name": "platform", "version": "1.0.0", "namespace": "platform",
                          "url": f"{CHARTS}/platform"}

        missing = run(["mirror", "--platform", "linux/s390x", *plan], check=False)
        assert missing.returncode == 1, missing.stderr
        assert "no platform linux/s390x in these images" in missing.stderr, missing.stderr
        allowed = run(["mirror", "--platform", "linux/s390x", "--allow-missing-platform", *plan])
        assert allowed.stdout == "" and "left out" in allowed.stderr
    finally:
        src.stop()

    try:
        # 3. Behind the firewall: the source is gone; the mirror alone gives the same results.
        with pytest.raises(OSError):
            import urllib.request
            urllib.request.urlopen(f"http://{src.host}/v2/", timeout=2)
        lock2, out2 = tmp_path / "mirror.lock", tmp_path / "out-mirror"
        resolve_and_generate(recipe, lock2, out2, registries, mirror.host,
                             f"{CHARTS}=oci://{mirror.host}/charts", tmp_path / "cc2")
        assert lock2.read_bytes() == lock1.read_bytes()
        names = sorted(p.name for p in out1.iterdir())
        assert "bom.cdx.json" in names and names == sorted(p.name for p in out2.iterdir())
        for name in names:
            assert (out2 / name).read_bytes() == (out1 / name).read_bytes(), name

        # 4. The narrow mirror holds each index's linux/amd64 manifest, and nothing else of it.
        for key, entry in locked.items():
            repo = key.split(":")[0] if "@" not in key else key.split("@")[0].rsplit(":", 1)[0]
            by_arch = {p["architecture"]: p["digest"] for p in entry["platforms"]}
            assert set(by_arch) == {"amd64", "arm64"}, key
            raw = narrow.raw(f"{repo}@{by_arch['amd64']}")
            assert "sha256:" + hashlib.sha256(raw).hexdigest() == by_arch["amd64"]
            flat = f"air/{repo.rsplit('/', 1)[1]}"
            assert copied.raw(f"{flat}@{by_arch['amd64']}") == raw
            for absent in (by_arch["arm64"], entry["digest"]):
                with pytest.raises(subprocess.CalledProcessError):
                    narrow.raw(f"{repo}@{absent}")
                with pytest.raises(subprocess.CalledProcessError):
                    copied.raw(f"{flat}@{absent}")
    finally:
        for r in (mirror, narrow, copied):
            r.stop()
