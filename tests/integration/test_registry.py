"""Registry resolution against real registries (docker-registry + skopeo)."""
import hashlib
import json
import os

import pytest

from conftest import run
from registry import Layout, Registry, docker_config


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A registry with a multi-arch OCI index, a Docker manifest list, a single Docker v2 manifest
    and an OCI artifact."""
    root = tmp_path_factory.mktemp("reg")
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    multi = lay.index([lay.image("amd64"), lay.image("arm64", "v8")])
    lay.tag(multi, "multi")
    single = lay.image("amd64", text=b"single")
    lay.tag(single, "single")
    lay.tag(lay.artifact(), "artifact")
    lay.tag(lay.index([lay.image("amd64", text=b"list"), lay.image("arm", "v7", text=b"list")]), "list")
    reg.push(root / "layout", "multi", "team/app")
    reg.push(root / "layout", "list", "team/list", fmt="v2s2")  # a Docker manifest list
    reg.push(root / "layout", "single", "team/single", fmt="v2s2")
    reg.push(root / "layout", "artifact", "team/sbom")
    yield reg
    reg.stop()


def recipe(tmp_path, images):
    pods = "".join(f"    - {{name: c{i}, image: '{img}'}}\n" for i, img in enumerate(images))
    (tmp_path / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n")
    return r


def lock_resolve(r, reg, *extra, env=None, check=True):
    return run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", reg.host, *extra],
               check=check, env=env)


def test_digests_and_platforms_match_skopeo(filled, tmp_path):
    refs = ["team/app:multi", "team/single:single", "team/sbom:artifact", "team/list:list"]
    r = recipe(tmp_path, [f"{filled.host}/{x}" for x in refs])
    lock_resolve(r, filled)
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    for x in refs:
        raw = filled.raw(x)
        entry = lock[f"{filled.host}/{x}"]
        assert entry["source"] == "registry"
        assert entry["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest(), x
        assert entry["size"] == len(raw)
        doc = json.loads(raw)
        assert entry["mediaType"] == doc["mediaType"]
        want = sorted((m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant"), m["digest"])
                      for m in doc.get("manifests", []))
        got = sorted((p["os"], p["architecture"], p.get("variant"), p["digest"]) for p in entry.get("platforms", []))
        assert got == want, x
    assert lock[f"{filled.host}/team/app:multi"]["platforms"][1]["variant"] == "v8"
    assert lock[f"{filled.host}/team/single:single"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert lock[f"{filled.host}/team/sbom:artifact"]["artifactType"] == "application/vnd.example.sbom+json"
    listed = lock[f"{filled.host}/team/list:list"]
    assert listed["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert [p.get("variant") for p in listed["platforms"]] == [None, "v7"]


def test_pinned_digest_is_verified(filled, tmp_path):
    digest = "sha256:" + hashlib.sha256(filled.raw("team/single:single")).hexdigest()
    good = f"{filled.host}/team/single:single@{digest}"
    r = recipe(tmp_path, [good])
    lock_resolve(r, filled)
    entry = json.loads((tmp_path / "imagebom.lock").read_text())["images"][good]
    assert entry["source"] == "registry" and entry["digest"] == digest
    bad = f"{filled.host}/team/single@sha256:{'0' * 64}"
    r = recipe(tmp_path, [bad])
    p = lock_resolve(r, filled, check=False)
    assert p.returncode == 3, p.stderr
    assert bad in p.stderr


def test_missing_tag_and_repository_exit_3_and_keep_the_lock(filled, tmp_path):
    r = recipe(tmp_path, [f"{filled.host}/team/app:multi", f"{filled.host}/team/app:nope",
                          f"{filled.host}/nobody/here:1"])
    p = lock_resolve(r, filled, check=False)
    assert p.returncode == 3, p.stderr
    assert f"{filled.host}/team/app:nope: not found" in p.stderr, p.stderr
    assert f"{filled.host}/nobody/here:1: not found" in p.stderr, p.stderr
    assert not (tmp_path / "imagebom.lock").exists()
    lock_resolve(r, filled, "--allow-unresolved")
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    assert list(lock) == [f"{filled.host}/team/app:multi"]


def test_generate_uses_resolved_lock(filled, tmp_path):
    r = recipe(tmp_path, [f"{filled.host}/team/app:multi"])
    lock_resolve(r, filled)
    run(["generate", "--recipe", str(r), "--out", str(tmp_path / "out")])
    cdx = json.loads((tmp_path / "out" / "bom.cdx.json").read_text())
    img = next(c for c in cdx["components"] if c["type"] == "container")
    digest = hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
    assert img["hashes"][0]["content"] == digest
    assert img["purl"].startswith(f"pkg:oci/app@sha256:{digest}?")
    props = [p["value"] for p in img["properties"] if p["name"] == "imagebom:platform"]
    assert len(props) == 2 and props[0].startswith("linux/amd64 sha256:")


def test_basic_auth_from_docker_config(tmp_path):
    reg = Registry(tmp_path / "authreg", htpasswd=("ci", "s3cret-pass"))
    try:
        lay = Layout(tmp_path / "layout")
        lay.tag(lay.image("amd64"), "v1")
        reg.push(tmp_path / "layout", "v1", "private/app")
        ref = f"{reg.host}/private/app:v1"
        r = recipe(tmp_path, [ref])
        good = docker_config(tmp_path / "good", reg.host, "ci", "s3cret-pass")
        env = dict(os.environ, DOCKER_CONFIG=str(good), IMAGEBOM_LOG="trace")
        p = lock_resolve(r, reg, env=env)
        assert "s3cret-pass" not in p.stdout + p.stderr
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        assert lock[ref]["digest"] == "sha256:" + hashlib.sha256(reg.raw("private/app:v1")).hexdigest()

        (tmp_path / "imagebom.lock").unlink()
        bad = docker_config(tmp_path / "bad", reg.host, "ci", "wrong-pass-123")
        env = dict(os.environ, DOCKER_CONFIG=str(bad), IMAGEBOM_LOG="trace")
        # --refresh: ask the registry again rather than the cache the good run filled.
        p = lock_resolve(r, reg, "--refresh", env=env, check=False)
        assert p.returncode == 3, p.stderr
        assert "denied" in p.stderr or "unauthorized" in p.stderr.lower(), p.stderr
        assert "wrong-pass-123" not in p.stdout + p.stderr
        assert not (tmp_path / "imagebom.lock").exists()
    finally:
        reg.stop()


def test_moved_tag_is_reported_as_drift_and_the_pin_kept(filled, tmp_path):
    lay = Layout(tmp_path / "layout")
    lay.tag(lay.image("amd64", text=b"first"), "v1")
    filled.push(tmp_path / "layout", "v1", "team/moving")
    first = "sha256:" + hashlib.sha256(filled.raw("team/moving:v1")).hexdigest()
    lay2 = Layout(tmp_path / "layout2")
    lay2.tag(lay2.image("amd64", text=b"second"), "v1")
    filled.push(tmp_path / "layout2", "v1", "team/moving")
    second = "sha256:" + hashlib.sha256(filled.raw("team/moving:v1")).hexdigest()
    assert first != second
    ref = f"{filled.host}/team/moving:v1@{first}"
    r = recipe(tmp_path, [ref])
    p = lock_resolve(r, filled)
    assert f"drift: {ref}: the tag now points to {second}" in p.stderr, p.stderr
    assert json.loads((tmp_path / "imagebom.lock").read_text())["images"][ref]["digest"] == first


def test_generate_resolve_writes_lock_and_boms(filled, tmp_path):
    ref = f"{filled.host}/team/single:single"
    r = recipe(tmp_path, [ref])
    out = tmp_path / "out"
    run(["generate", "--resolve", "--insecure-registry", filled.host, "--recipe", str(r), "--out", str(out)])
    digest = hashlib.sha256(filled.raw("team/single:single")).hexdigest()
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    assert lock[ref]["digest"] == f"sha256:{digest}"
    first = (out / "bom.cdx.json").read_bytes()
    assert f'"content": "{digest}"' in first.decode()
    # Offline again from the lock it wrote: byte-identical.
    run(["generate", "--recipe", str(r), "--out", str(out)])
    assert (out / "bom.cdx.json").read_bytes() == first


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    root = tmp_path_factory.mktemp("private")
    reg = Registry(root / "registry", htpasswd=("ci", "h3lper-pass"))
    lay = Layout(root / "layout")
    lay.tag(lay.image("amd64"), "v1")
    reg.push(root / "layout", "v1", "private/app")
    yield reg
    reg.stop()


def helper_env(tmp_path, config: dict, name: str):
    """A real docker-credential-<name> helper (the helper protocol: `get`, server on stdin, JSON out)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / f"docker-credential-{name}"
    helper.write_text('#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\n'
                      'printf \'{"ServerURL":"%s","Username":"ci","Secret":"h3lper-pass"}\' "$server"\n')
    helper.chmod(0o755)
    cfg = tmp_path / "docker"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps(config))
    return dict(os.environ, DOCKER_CONFIG=str(cfg), PATH=f"{bindir}:{os.environ['PATH']}")


@pytest.mark.parametrize("kind", ["credHelpers", "credsStore", "REGISTRY_AUTH_FILE"])
def test_credentials_from_helpers_and_auth_file(private, tmp_path, kind):
    ref = f"{private.host}/private/app:v1"
    r = recipe(tmp_path, [ref])
    if kind == "credHelpers":
        env = helper_env(tmp_path, {"credHelpers": {private.host: "imagebomtest"}}, "imagebomtest")
    elif kind == "credsStore":
        env = helper_env(tmp_path, {"credsStore": "imagebomstore"}, "imagebomstore")
    else:
        auth = docker_config(tmp_path / "podman", private.host, "ci", "h3lper-pass") / "config.json"
        env = dict(os.environ, REGISTRY_AUTH_FILE=str(auth), DOCKER_CONFIG=str(tmp_path / "none"))
    p = lock_resolve(r, private, env=dict(env, IMAGEBOM_LOG="trace"))
    assert "h3lper-pass" not in p.stdout + p.stderr
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    assert lock[ref]["digest"] == "sha256:" + hashlib.sha256(private.raw("private/app:v1")).hexdigest()


def test_mirror_is_queried_and_the_bom_keeps_the_canonical_name(filled, tmp_path):
    ref = "registry.example.invalid/team/app:multi"
    r = recipe(tmp_path, [ref])
    lock_resolve(r, filled, "--mirror", f"registry.example.invalid={filled.host}")
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    assert list(lock) == [ref]
    assert lock[ref]["digest"] == "sha256:" + hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
    p = run(["lock", "--resolve", "--recipe", str(r), "--mirror", "nonsense"], check=False)
    assert p.returncode == 2 and "REGISTRY=MIRROR" in p.stderr, p.stderr
