"""Air-gap mirroring: real `skopeo sync` with our YAML copies every image to a second registry,
and every digest in the mirror equals the BOM."""
import hashlib
import json
import subprocess

import pytest

from conftest import ROOT, run
from registry import SKOPEO, Registry
from test_registry import filled, recipe  # noqa: F401  (module fixture)


def test_skopeo_sync_mirrors_every_image_by_digest(filled, tmp_path):  # noqa: F811
    refs = [f"{filled.host}/{x}" for x in ("team/app:multi", "team/list:list", "team/single:single")]
    # (Unscoped `skopeo sync` lands each repository under its last path component.)
    r = recipe(tmp_path, refs)
    run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", filled.host])
    run(["generate", "--recipe", str(r), "--out", str(tmp_path / "out")])
    cdx = json.loads((tmp_path / "out" / "bom.cdx.json").read_text())
    digests = {c["name"]: "sha256:" + c["hashes"][0]["content"] for c in cdx["components"] if c["type"] == "container"}
    assert len(digests) == 3

    sync = tmp_path / "sync.yaml"
    run(["mirror", "--recipe", str(r), "--format", "skopeo-sync", "--insecure-registry", filled.host,
         "--out", str(sync)])
    target = Registry(tmp_path / "mirror")
    try:
        p = subprocess.run([SKOPEO, "sync", "--all", "--src", "yaml", "--dest", "docker",
                            "--dest-tls-verify=false", str(sync), f"{target.host}/airgap"],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        mapping = run(["mirror", "--recipe", str(r), "--format", "mapping", "--target",
                       f"{target.host}/airgap"]).stdout
        for line in mapping.splitlines():
            src, dst = line.split("=")
            digest = digests[src]
            raw = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false", f"docker://{dst}@{digest}"],
                                 check=True, capture_output=True).stdout
            assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest, src
            doc = json.loads(raw)
            for m in doc.get("manifests", []):  # --all: every platform came along
                subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false", f"docker://{dst}@{m['digest']}"],
                               check=True, capture_output=True)
    finally:
        target.stop()


def test_copy_commands_and_lists(filled, tmp_path):  # noqa: F811
    ref = f"{filled.host}/team/single:single"
    r = recipe(tmp_path, [ref])
    p = run(["mirror", "--recipe", str(r), "--format", "list"])
    assert p.stdout == f"{ref}\n" and "no digest" in p.stderr
    run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", filled.host])
    digest = "sha256:" + hashlib.sha256(filled.raw("team/single:single")).hexdigest()
    assert run(["mirror", "--recipe", str(r)]).stdout == f"{filled.host}/team/single@{digest}\n"
    assert run(["mirror", "--recipe", str(r), "--format", "registries"]).stdout == f"{filled.host}\n"
    cmd = run(["mirror", "--recipe", str(r), "--format", "skopeo-copy", "--target", "m.example/air"]).stdout
    assert cmd == (f"skopeo copy --all --preserve-digests docker://{filled.host}/team/single@{digest} "
                   f"docker://m.example/air/single:single\n")
    p = run(["mirror", "--recipe", str(r), "--format", "mapping"], check=False)
    assert p.returncode == 2 and "--target" in p.stderr


def test_cluster_mirror_configs(tmp_path):
    import tomllib

    out = tmp_path / "o"
    conf = run(["mirror", "--format", "registries-conf", "--target", "mirror.example:5000/air"]).stdout
    doc = tomllib.loads(conf)
    by_prefix = {r["prefix"]: r for r in doc["registry"]}
    controller = by_prefix["registry.k8s.io/ingress-nginx/controller"]
    assert controller["location"] == "registry.k8s.io/ingress-nginx/controller"
    assert controller["mirror"] == [{"location": "mirror.example:5000/air/controller"}]
    idms = run(["mirror", "--format", "idms", "--target", "mirror.example:5000/air"]).stdout
    itms = run(["mirror", "--format", "itms", "--target", "mirror.example:5000/air"]).stdout
    oc = run(["mirror", "--format", "oc-mirror"]).stdout
    # Field-by-field: the sources split by digest knowledge, every image in oc-mirror's list.
    assert "kind: ImageDigestMirrorSet" in idms and "source: registry.k8s.io/ingress-nginx/controller" in idms
    assert "kind: ImageTagMirrorSet" in itms and "source: quay.io/prometheus/prometheus" in itms
    assert "registry.k8s.io/ingress-nginx/controller" not in itms
    plain = run(["mirror"]).stdout.split()
    assert all(f"- name: {ref}" in oc for ref in plain), oc
    assert not out.exists()


def test_containerd_hosts_toml_files_and_stream(tmp_path):
    """--format containerd: one hosts.toml per source registry under --out, field by field;
    without --out the same files in one stream, each after its `# file:` line."""
    import tomllib

    target = "mirror.example:5000/air"
    registries = run(["mirror", "--format", "registries"]).stdout.split()
    out = tmp_path / "certs.d"
    run(["mirror", "--format", "containerd", "--target", target, "--out", str(out)])
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(f"{r}/hosts.toml" for r in registries)
    for reg in registries:
        doc = tomllib.loads((out / reg / "hosts.toml").read_text())
        assert set(doc) == {"server", "host"}, doc
        want_server = "https://registry-1.docker.io" if reg == "docker.io" else f"https://{reg}"
        assert doc["server"] == want_server
        assert list(doc["host"]) == [f"https://mirror.example:5000/v2/air/{reg}"]
        host = doc["host"][f"https://mirror.example:5000/v2/air/{reg}"]
        assert host == {"capabilities": ["pull", "resolve"], "override_path": True}
    stream = run(["mirror", "--format", "containerd", "--target", target]).stdout
    parts = stream.split("# file: ")[1:]
    assert [p.split("\n", 1)[0] for p in parts] == [f"{r}/hosts.toml" for r in registries]
    for part in parts:
        name, body = part.split("\n", 1)
        assert body.rstrip("\n") == (out / name).read_text().rstrip("\n")
    p = run(["mirror", "--format", "containerd"], check=False)
    assert p.returncode == 2 and "--target" in p.stderr


def test_containerd_paths_reach_a_scoped_mirror(filled, tmp_path):  # noqa: F811
    """The hosts.toml host path, with containerd's rule (override_path: the path is the API
    root, `/<repository>/manifests/<digest>` appended; docs/hosts.md), reaches every image in a
    real registry holding the scoped layout `<target>/<registry>/<repository>` (what `skopeo
    sync --scoped` writes; it cannot scope a registry with a port, so the images keep a
    port-less canonical name here and are resolved through --mirror)."""
    import tomllib
    import urllib.request

    canonical = "registry.example"
    repos = ["team/app:multi", "team/single:single"]
    r = recipe(tmp_path, [f"{canonical}/{x}" for x in repos])
    run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", filled.host,
         "--mirror", f"{canonical}={filled.host}"])
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    mirror = Registry(tmp_path / "mirror")
    try:
        for x in repos:
            repo = x.split(":")[0]
            digest = lock[f"{canonical}/{x}"]["digest"]
            subprocess.run([SKOPEO, "copy", "--all", "--preserve-digests", "--quiet", "--src-tls-verify=false",
                            "--dest-tls-verify=false", f"docker://{filled.host}/{repo}@{digest}",
                            f"docker://{mirror.host}/air/{canonical}/{repo}:{x.split(':')[1]}"],
                           check=True, capture_output=True)
        out = tmp_path / "certs.d"
        run(["mirror", "--recipe", str(r), "--format", "containerd", "--target", f"{mirror.host}/air",
             "--insecure-registry", mirror.host, "--out", str(out)])
        doc = tomllib.loads((out / canonical / "hosts.toml").read_text())
        assert doc["server"] == f"https://{canonical}"
        [(host, cfg)] = doc["host"].items()
        assert host == f"http://{mirror.host}/v2/air/{canonical}" and cfg["override_path"] is True
        accept = ", ".join(["application/vnd.oci.image.index.v1+json",
                            "application/vnd.oci.image.manifest.v1+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json",
                            "application/vnd.docker.distribution.manifest.v2+json"])
        for x in repos:
            repo = x.split(":")[0]
            digest = lock[f"{canonical}/{x}"]["digest"]
            req = urllib.request.Request(f"{host}/{repo}/manifests/{digest}", headers={"Accept": accept})
            body = urllib.request.urlopen(req, timeout=10).read()
            assert "sha256:" + hashlib.sha256(body).hexdigest() == digest, x
    finally:
        mirror.stop()


# The shapes `hauler store sync` and `zarf package create` read, written here from Hauler's
# Go types (pkg/apis/hauler.cattle.io/v1: Images, Charts) and Zarf's published
# zarf.schema.json (v1alpha1: ZarfPackageConfig, ZarfComponent, ZarfChart): only the fields
# imagebom writes or may write, every object closed (an unknown or misspelt field fails), the
# names' patterns as Zarf's schema gives them. Neither tool nor its schema can be installed
# from a package registry, so this is the check.
def _closed(props, required=()):
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_S = {"type": "string"}
_STRS = {"type": "array", "items": _S}
_META = _closed({"name": _S}, ["name"])
HAULER_IMAGES = _closed({
    "apiVersion": {"const": "content.hauler.cattle.io/v1"}, "kind": {"const": "Images"}, "metadata": _META,
    "spec": _closed({"images": {"type": "array", "items": _closed({
        "name": _S, "key": _S, "use-tlog-verify": {"type": "boolean"}, "platform": _S, "rewrite": _S,
        "exclude-extras": {"type": "boolean"}, "local": {"type": "boolean"},
        "certificate-identity": _S, "certificate-identity-regexp": _S, "certificate-oidc-issuer": _S,
        "certificate-oidc-issuer-regexp": _S, "certificate-github-workflow-repository": _S,
        "ca-file": _S, "insecure-skip-tls-verify": {"type": "boolean"}}, ["name"])}}, ["images"]),
}, ["apiVersion", "kind", "metadata", "spec"])
HAULER_CHARTS = _closed({
    "apiVersion": {"const": "content.hauler.cattle.io/v1"}, "kind": {"const": "Charts"}, "metadata": _META,
    "spec": _closed({"charts": {"type": "array", "items": _closed({
        "name": _S, "repoURL": _S, "version": _S, "rewrite": _S, "valuesFiles": _STRS, "platform": _S,
        "add-images": {"type": "boolean"}, "add-dependencies": {"type": "boolean"},
        "exclude-extras": {"type": "boolean"}, "verify": {"type": "boolean"}, "keyring": _S,
        "plainHTTP": {"type": "boolean"}, "insecureSkipTLSVerify": {"type": "boolean"}}, ["name"])}}, ["charts"]),
}, ["apiVersion", "kind", "metadata", "spec"])
_ZNAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-]*$"}
_NOSLASH = {"type": "string", "pattern": r"^[^/\\]*$"}
ZARF = _closed({
    "kind": {"enum": ["ZarfInitConfig", "ZarfPackageConfig"]},
    "metadata": _closed({"name": _ZNAME, "version": _NOSLASH, "description": _S, "vendor": _S,
                         "architecture": _S}, ["name"]),
    "components": {"type": "array", "minItems": 1, "items": _closed({
        "name": _ZNAME, "description": _S, "required": {"type": "boolean"}, "images": _STRS,
        "charts": {"type": "array", "items": _closed({
            "name": _NOSLASH, "version": _NOSLASH, "url": _S, "repoName": _S, "localPath": _S,
            "namespace": _S, "releaseName": _S, "valuesFiles": _STRS, "noWait": {"type": "boolean"}},
            ["name"])}}, ["name"])},
}, ["kind", "components"])


def _validate(doc, schema):
    import jsonschema

    jsonschema.Draft202012Validator(schema).validate(doc)


def test_hauler_and_zarf_validate_against_their_shapes(tmp_path):
    import re

    import yaml

    lock = json.loads((ROOT / "recipes" / "imagebom.lock").read_text())["images"]
    plain = set(run(["mirror"]).stdout.split())
    docs = list(yaml.safe_load_all(run(["mirror", "--format", "hauler"]).stdout))
    assert [d["kind"] for d in docs] == ["Images", "Charts"]
    _validate(docs[0], HAULER_IMAGES)
    _validate(docs[1], HAULER_CHARTS)
    assert {i["name"] for i in docs[0]["spec"]["images"]} == plain
    assert docs[1]["spec"]["charts"] == [{"name": "../fixtures/charts/platform", "version": "1.0.0"}]

    zarf = yaml.safe_load(run(["mirror", "--format", "zarf"]).stdout)
    _validate(zarf, ZARF)
    recipe = yaml.safe_load((ROOT / "recipes" / "registry.yaml").read_text())
    assert [c["name"] for c in zarf["components"]] == [c["name"] for c in recipe["components"]]
    platform = next(c for c in zarf["components"] if c["name"] == "platform")
    assert platform["charts"] == [{"name": "platform", "version": "1.0.0", "namespace": "platform",
                                   "localPath": "../fixtures/charts/platform"}]
    images = {i for c in zarf["components"] for i in c.get("images", [])}
    # By digest wherever the lock knows it, with the tag the manifests name (`repo:tag@digest`).
    assert {re.sub(r":[^/@]+@", "@", i) for i in images} == plain
    assert sum("@sha256:" in i for i in images) == len(lock)
    assert "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:" in " ".join(images)
    # A misspelt field fails the check (the schemas are closed).
    bad = json.loads(json.dumps(zarf))
    bad["components"][0]["image"] = []
    with pytest.raises(Exception):
        _validate(bad, ZARF)


def test_platform_flag_errors(tmp_path):
    p = run(["mirror", "--platform", "linux"], check=False)
    assert p.returncode == 2 and "OS/ARCH" in p.stderr, p.stderr
    p = run(["mirror", "--allow-missing-platform"], check=False)
    assert p.returncode == 2, p.stderr


def test_readme_airgap_examples_run(tmp_path):
    """Every line of the README's air-gap block runs as written (on a copy of the recipe), one
    per format; `| sh` pipes are not run, /etc paths land in the test's directory."""
    import re
    import shlex
    import shutil

    for d in ("recipes", "fixtures"):
        shutil.copytree(ROOT / d, tmp_path / d)
    text = (ROOT / "README.md").read_text()
    block = re.search(r"### Air-gap mirror\n.*?```sh\n(.*?)```", text, re.S).group(1)
    formats = set()
    for line in block.splitlines():
        args = shlex.split(line.split("|")[0], comments=True)
        assert args[:2] == ["imagebom", "mirror"], line
        args = [a.replace("$T", "mirror.example:5000/air").replace("/etc/", str(tmp_path) + "/etc/")
                for a in args[1:]]
        formats.add(args[args.index("--format") + 1])
        p = run(args, cwd=tmp_path, check=False)
        assert p.returncode == 0, f"{line}\n{p.stderr}"
    cli = run(["mirror", "--help"]).stdout
    listed = set(re.findall(r"^\s+- ([a-z-]+):", cli, re.M))
    assert formats == listed, (formats ^ listed)
