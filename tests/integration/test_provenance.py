"""Provenance matrix against a real registry (Debian's docker-registry, distribution 2.8, filled
by skopeo): cosign-shaped signature, attestation and SBOM artifacts under their
`sha256-<hex>.{sig,att,sbom}` tags, and OCI 1.1 referrers (manifests with a `subject`).

distribution 2.8 has no referrers API (`GET /v2/<name>/referrers/<digest>` answers 404), so the
referrers here are found through the referrers tag schema: the `sha256-<hex>` index that
clients such as oras and cosign push when the API is missing. The tests push that index too."""
import base64
import hashlib
import json
import pathlib
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, run
from faults import FaultProxy
from registry import SKOPEO, Layout, Registry, free_port

SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
VULN = "application/vnd.example.vuln-report+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def manifest(lay: Layout, layers, config=None, artifact_type=None, subject=None) -> dict:
    """An OCI image manifest of `layers` ((bytes, mediaType, annotations) triples)."""
    if config is None:
        config = lay.blob(b"{}", "application/vnd.oci.empty.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    if artifact_type:
        m["artifactType"] = artifact_type
    m["config"] = config
    m["layers"] = []
    for data, media_type, annotations in layers:
        d = lay.blob(data, media_type)
        if annotations:
            d["annotations"] = annotations
        m["layers"].append(d)
    if subject:
        m["subject"] = subject
    return lay.blob(json.dumps(m).encode(), m["mediaType"])


def cosign_config(lay: Layout, layer_bytes: bytes) -> dict:
    """The image config cosign writes for its signature images."""
    cfg = {"architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
           "os": "", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
           "config": {}}
    return lay.blob(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")


def push(reg: Registry, layout: pathlib.Path, tag: str, repo: str, preserve=True):
    """skopeo copy of one tag, bytes preserved (cosign media types are not image layers)."""
    subprocess.run([SKOPEO, "copy", "--all", "--quiet", *(["--preserve-digests"] if preserve else []),
                    "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{reg.host}/{repo}:{tag}"],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """`team/signed:1` with a signature, attestation, SBOM and two referrers (one whose index
    entry names its artifactType, one whose entry does not); `team/plain:1` with nothing."""
    root = tmp_path_factory.mktemp("prov")
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    signed = lay.image("amd64", text=b"signed")
    lay.tag(signed, "1")
    plain = lay.image("amd64", text=b"plain")
    lay.tag(plain, "plain")
    reg.push(root / "layout", "1", "team/signed")
    reg.push(root / "layout", "plain", "team/plain")
    raw = reg.raw("team/signed:1")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    hexd = digest.split(":")[1]
    subject = {"mediaType": json.loads(raw)["mediaType"], "digest": digest, "size": len(raw)}

    payload = json.dumps({"critical": {"identity": {"docker-reference": f"{reg.host}/team/signed"},
                                       "image": {"docker-manifest-digest": digest},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    sig = manifest(lay, [(payload, SIGNING, {"dev.cosignproject.cosign/signature": "MEUCIQDfake"})],
                   config=cosign_config(lay, payload))
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://slsa.dev/provenance/v0.2",
                            "subject": [{"name": f"{reg.host}/team/signed", "digest": {"sha256": hexd}}],
                            "predicate": {}}).encode()
    envelope = json.dumps({"payloadType": "application/vnd.in-toto+json",
                           "payload": base64.b64encode(statement).decode(),
                           "signatures": [{"keyid": "", "sig": "MEUCIQDfake"}]}).encode()
    att = manifest(lay, [(envelope, DSSE, {"dev.cosignproject.cosign/signature": "",
                                           "predicateType": "https://slsa.dev/provenance/v0.2"})],
                   config=cosign_config(lay, envelope))
    spdx = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "signed"}).encode()
    sbom = manifest(lay, [(spdx, "text/spdx+json", None)], config=cosign_config(lay, spdx))
    report = manifest(lay, [(b'{"vulnerabilities":[]}', "application/json", None)], artifact_type=VULN, subject=subject)
    bundle = manifest(lay, [(b'{"bundle":true}', "application/json", None)], artifact_type=BUNDLE, subject=subject)
    report_entry = {k: v for k, v in report.items()}
    report_entry["artifactType"] = VULN
    referrers = lay.index([report_entry, bundle])  # the bundle's entry has no artifactType
    for desc, tag in [(sig, f"sha256-{hexd}.sig"), (att, f"sha256-{hexd}.att"), (sbom, f"sha256-{hexd}.sbom"),
                      (referrers, f"sha256-{hexd}")]:
        lay.tag(desc, tag)
        push(reg, root / "layout", tag, "team/signed", preserve=desc is not referrers)
    # skopeo copies the referrers (children) but rewrites the index without the entries'
    # artifactType; put the index's own bytes back, as oras and cosign write it.
    body = (root / "layout" / "blobs" / "sha256" / referrers["digest"].split(":")[1]).read_bytes()
    req = urllib.request.Request(f"http://{reg.host}/v2/team/signed/manifests/sha256-{hexd}", data=body,
                                 method="PUT", headers={"Content-Type": referrers["mediaType"]})
    assert urllib.request.urlopen(req, timeout=10).status == 201
    index = json.loads(reg.raw(f"team/signed:sha256-{hexd}"))
    assert [m.get("artifactType") for m in index["manifests"]] == [VULN, None], index
    for m in index["manifests"]:
        assert json.loads(reg.raw(f"team/signed@{m['digest']}"))["subject"]["digest"] == digest
    reg.digest = digest
    yield reg
    reg.stop()


def recipe(tmp_path: pathlib.Path, images) -> pathlib.Path:
    pods = "".join(f"    - {{name: c{i}, image: '{img}'}}\n" for i, img in enumerate(images))
    (tmp_path / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n")
    return r


def test_the_registry_really_lacks_the_referrers_api(filled):
    """What makes the tag schema fallback the path exercised here."""
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{filled.host}/v2/team/signed/referrers/{filled.digest}", timeout=5)
    assert e.value.code == 404


def test_matrix_in_lock_boms_and_page(filled, tmp_path):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens: every check is "could not be checked"
    gone = f"{dead}/team/gone@sha256:{'ab' * 32}"
    images = [f"{filled.host}/team/signed:1", f"{filled.host}/team/plain:plain", gone]
    r = recipe(tmp_path, images)
    p = run(["lock", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", filled.host,
             "--insecure-registry", dead, "--allow-unresolved", "--retries", "0", "--timeout", "5",
             "--cache-dir", str(tmp_path / "cache")])
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    signed = lock[f"{filled.host}/team/signed:1"]
    assert signed["digest"] == filled.digest
    assert signed["provenance"] == {"signature": True, "attestation": True, "sbom": True,
                                    "referrers": sorted([BUNDLE, VULN])}
    assert lock[f"{filled.host}/team/plain:plain"]["provenance"] == {
        "signature": False, "attestation": False, "sbom": False, "referrers": []}
    assert lock[gone]["source"] == "pinned"
    assert lock[gone]["provenance"] == {"signature": None, "attestation": None, "sbom": None, "referrers": None}
    assert "provenance unknown" in p.stderr and dead in p.stderr

    out = tmp_path / "dist"
    run(["generate", "--recipe", str(r), "--out", str(out)])
    page = (out / "inventory.md").read_text()
    assert "| signature | attestation | SBOM | referrers |" in page
    for line in ("| provenance checked | 3 |", "| with a cosign signature | 1 |", "| with attestations | 1 |",
                 "| with an attached SBOM | 1 |", "| with OCI referrers | 1 |", "| provenance not fully checked | 1 |"):
        assert line in page, line

    def row(ref):
        return next(line for line in page.splitlines() if line.startswith(f"| `{ref}`"))

    assert row(f"{filled.host}/team/signed:1").endswith(f"| Y | Y | Y | `{BUNDLE}`, `{VULN}` |")
    assert row(f"{filled.host}/team/plain:plain").endswith("| – | – | – | – |")
    assert row(gone).endswith("| ? | ? | ? | ? |")

    cdx = json.loads((out / "bom.cdx.json").read_text())

    def props(name):
        comp = next(c for c in cdx["components"] if c.get("bom-ref") == f"image:{name}")
        return [(p["name"], p["value"]) for p in comp["properties"]
                if p["name"].split(":")[1].split("-")[0] in ("signature", "attestation", "sbom", "referrers", "referrer")]

    assert props(f"{filled.host}/team/signed:1") == [
        ("imagebom:signature", "true"), ("imagebom:attestation", "true"), ("imagebom:sbom", "true"),
        ("imagebom:referrers", "2"), ("imagebom:referrer-artifact-type", BUNDLE),
        ("imagebom:referrer-artifact-type", VULN)]
    assert props(f"{filled.host}/team/plain:plain") == [
        ("imagebom:signature", "false"), ("imagebom:attestation", "false"), ("imagebom:sbom", "false"),
        ("imagebom:referrers", "0")]
    assert props(gone) == [("imagebom:signature", "unknown"), ("imagebom:attestation", "unknown"),
                           ("imagebom:sbom", "unknown"), ("imagebom:referrers", "unknown")]

    spdx = json.loads((out / "bom.spdx.json").read_text())
    pkg = next(p for p in spdx["packages"] if p["name"] == f"{filled.host}/team/signed")
    assert [a["comment"] for a in pkg["annotations"]][:4] == [
        "imagebom:signature=true", "imagebom:attestation=true", "imagebom:sbom=true", "imagebom:referrers=2"]

    # Both documents stay valid against the official schemas.
    import jsonschema
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text()) is None
    schema = json.loads((ROOT / "schemas" / "spdx-2.3.schema.json").read_text())
    jsonschema.validate(spdx, schema)

    # Same lock, same bytes: generating again (offline) changes nothing.
    before = {f: (out / f).read_bytes() for f in ("bom.cdx.json", "bom.spdx.json", "inventory.md")}
    run(["generate", "--recipe", str(r), "--out", str(out)])
    assert before == {f: (out / f).read_bytes() for f in before}


def test_without_the_flag_nothing_is_asked_or_recorded(filled, tmp_path):
    """Provenance off: one GET per image (plus the /v2/ probe), as before; no provenance key."""
    proxy = FaultProxy(filled.host, {})
    try:
        r = recipe(tmp_path, [f"{proxy.host}/team/signed:1", f"{proxy.host}/team/plain:plain"])
        run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", proxy.host, "--refresh"])
        assert proxy.requests == 1 + 2, proxy.requests
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        assert all("provenance" not in e for e in lock.values())
        out = tmp_path / "dist"
        run(["generate", "--recipe", str(r), "--out", str(out)])
        assert "signature" not in (out / "inventory.md").read_text()
        assert "imagebom:signature" not in (out / "bom.cdx.json").read_text()
    finally:
        proxy.stop()


def test_through_a_token_registry_with_counted_requests_and_cache(filled, tmp_path):
    """The bearer-token flow applies to provenance checks too; the requests per image are the
    documented ones (3 tag checks, the tag schema index, the referrers API once per registry);
    a second run within the cache TTL asks nothing."""
    proxy = FaultProxy(filled.host, {}, bearer=True)
    try:
        r = recipe(tmp_path, [f"{proxy.host}/team/signed:1", f"{proxy.host}/team/plain:plain"])
        args = ["lock", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", proxy.host,
                "--cache-dir", str(tmp_path / "cache"), "--per-registry", "1"]
        p = run(args)
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        assert lock[f"{proxy.host}/team/signed:1"]["provenance"]["signature"] is True
        assert lock[f"{proxy.host}/team/signed:1"]["provenance"]["referrers"] == sorted([BUNDLE, VULN])
        assert lock[f"{proxy.host}/team/plain:plain"]["provenance"]["referrers"] == []
        assert "t0k3n" not in p.stdout + p.stderr
        first = proxy.requests
        # One /v2/ probe and one token per repository, shared by resolution and provenance;
        # 2 manifest GETs; per image 3 tag checks and the tag schema index; the referrers API
        # only for the first image (its 404 says the registry has none); one manifest GET for
        # the referrer whose index entry had no artifactType.
        tokens = len(proxy.token_requests)
        assert tokens == 2, proxy.token_requests
        assert first - tokens == 1 + 2 + 2 * 4 + 1 + 1, (first, tokens)
        run(args)
        assert proxy.requests == first, "cached provenance must not ask the registry again"
    finally:
        proxy.stop()


def test_mirror_is_asked_and_canonical_names_kept(filled, tmp_path):
    """--mirror: provenance is read from the mirror, the lock keeps the canonical name."""
    canonical = "registry.invalid"
    r = recipe(tmp_path, [f"{canonical}/team/signed:1"])
    run(["lock", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", filled.host,
         "--mirror", f"{canonical}={filled.host}", "--refresh"])
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    assert lock[f"{canonical}/team/signed:1"]["provenance"]["attestation"] is True


def test_transient_failures_are_retried(filled, tmp_path):
    """A 503 and a 429 (Retry-After: 1) on the provenance checks are retried as resolution's are:
    the answers stay exact, none is recorded as unknown."""
    import time

    # The first manifest request (resolution) passes; the next two (the `.sig` check, then
    # its retry) fail transiently.
    proxy = FaultProxy(filled.host, {"team/signed": ["pass", "503", "429"]})
    try:
        r = recipe(tmp_path, [f"{proxy.host}/team/signed:1"])
        start = time.monotonic()
        run(["lock", "--resolve", "--provenance", "--refresh", "--recipe", str(r),
             "--insecure-registry", proxy.host])
        assert time.monotonic() - start >= 1.0, "Retry-After: 1 was not honoured"
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        assert lock[f"{proxy.host}/team/signed:1"]["provenance"] == {
            "signature": True, "attestation": True, "sbom": True, "referrers": sorted([BUNDLE, VULN])}
        # resolution 1, `.sig` 1 + 2 retries, `.att`, `.sbom`, tag schema index, one referrer manifest
        assert proxy.counts["team/signed"] == 1 + 3 + 2 + 1 + 1, proxy.counts
    finally:
        proxy.stop()
