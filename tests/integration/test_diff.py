"""Drift: `imagebom diff` between two generate runs, and against another tool's BOM."""
import json

from conftest import run
from registry import Layout
from test_registry import filled, recipe  # noqa: F401  (module fixture)


def test_moved_tag_and_added_image_are_drift(filled, tmp_path):  # noqa: F811
    lay = Layout(tmp_path / "l1")
    lay.tag(lay.image("amd64", text=b"one"), "v1")
    filled.push(tmp_path / "l1", "v1", "drift/app")
    r = recipe(tmp_path, [f"{filled.host}/drift/app:v1"])
    run(["generate", "--resolve", "--insecure-registry", filled.host, "--recipe", str(r), "--out", str(tmp_path / "a")])

    lay2 = Layout(tmp_path / "l2")
    lay2.tag(lay2.image("amd64", text=b"two"), "v1")
    filled.push(tmp_path / "l2", "v1", "drift/app")
    r = recipe(tmp_path, [f"{filled.host}/drift/app:v1", f"{filled.host}/team/app:multi"])
    run(["generate", "--resolve", "--refresh", "--insecure-registry", filled.host, "--recipe", str(r),
         "--out", str(tmp_path / "b")])

    for f in ("bom.cdx.json", "bom.spdx.json"):
        same = run(["diff", str(tmp_path / "a" / f), str(tmp_path / "a" / f)])
        assert "No drift." in same.stdout
        p = run(["diff", "--format", "json", str(tmp_path / "a" / f), str(tmp_path / "b" / f)], check=False)
        assert p.returncode == 1, p.stderr
        d = json.loads(p.stdout)
        assert d["added"] == [f"{filled.host}/team/app:multi"], d
        assert [c["subject"] for c in d["digestChanged"]] == [f"{filled.host}/drift/app:v1"], d
        assert d["removed"] == []
    md = run(["diff", str(tmp_path / "a" / "bom.cdx.json"), str(tmp_path / "b" / "bom.cdx.json")], check=False).stdout
    assert "### Digest changed (1)" in md and "### Added (1)" in md


def test_foreign_bom_with_docker_purls(tmp_path):
    ours = tmp_path / "ours"
    run(["generate", "--out", str(ours)])
    digest = "sha256:" + "1" * 64
    foreign = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [
        {"type": "container", "name": "controller",
         "purl": f"pkg:docker/ingress-nginx/controller@{digest}?repository_url=registry.k8s.io&tag=v1.15.1"}]}
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    p = run(["diff", "--format", "json", str(tmp_path / "foreign.json"), str(ours / "bom.cdx.json")], check=False)
    assert p.returncode == 1
    d = json.loads(p.stdout)
    changed = {c["subject"]: c for c in d["digestChanged"]}
    assert "registry.k8s.io/ingress-nginx/controller:v1.15.1" in changed, d
    assert changed["registry.k8s.io/ingress-nginx/controller:v1.15.1"]["old"] == digest


def test_not_a_bom_is_exit_2(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    p = run(["diff", str(tmp_path / "x.json"), str(tmp_path / "x.json")], check=False)
    assert p.returncode == 2 and "x.json" in p.stderr and "neither" in p.stderr


def test_refresh_reports_and_writes_only_when_asked(filled, tmp_path):  # noqa: F811
    lay = Layout(tmp_path / "l1")
    lay.tag(lay.image("amd64", text=b"week1"), "stable")
    filled.push(tmp_path / "l1", "stable", "weekly/app")
    ref = f"{filled.host}/weekly/app:stable"
    r = recipe(tmp_path, [ref])
    run(["lock", "--resolve", "--insecure-registry", filled.host, "--recipe", str(r)])
    lock_before = (tmp_path / "imagebom.lock").read_text()
    reg = ["--insecure-registry", filled.host, "--recipe", str(r)]
    assert "No drift." in run(["refresh", *reg]).stdout

    lay2 = Layout(tmp_path / "l2")
    lay2.tag(lay2.image("amd64", text=b"week2"), "stable")
    filled.push(tmp_path / "l2", "stable", "weekly/app")
    p = run(["refresh", "--report", "json", *reg], check=False)
    assert p.returncode == 1, p.stderr
    assert [c["subject"] for c in json.loads(p.stdout)["digestChanged"]] == [ref]
    assert (tmp_path / "imagebom.lock").read_text() == lock_before, "refresh without --write changed the lock"
    assert not (tmp_path / "out").exists()

    p = run(["refresh", "--write", "--out", str(tmp_path / "out"), *reg], check=False)
    assert p.returncode == 1 and "### Digest changed (1)" in p.stdout
    assert (tmp_path / "imagebom.lock").read_text() != lock_before
    assert (tmp_path / "out" / "bom.cdx.json").exists()
    assert "No drift." in run(["refresh", *reg]).stdout
