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

from conftest import ROOT, run, shared
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
    verification = signed["provenance"].pop("verification")
    assert signed["provenance"] == {"signature": True, "attestation": True, "sbom": True,
                                    "referrers": sorted([BUNDLE, VULN])}
    # The fake signatures are keyed (no certificate) and the recipe names no key; the bundle
    # is not one.
    assert [(v["kind"], v["source"], v["verdict"]) for v in verification] == [
        ("signature", "tag", "unverified"), ("attestation", "tag", "unverified"),
        ("signature", "referrer", "unverified")], verification
    assert all(v["reason"].startswith("no key") for v in verification[:2]), verification
    assert [s["source"] for s in signed["sboms"]] == ["attached"]
    assert lock[f"{filled.host}/team/plain:plain"]["provenance"] == {
        "signature": False, "attestation": False, "sbom": False, "referrers": [], "verification": []}
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
        # With verification: the three cosign layers' blobs, and the bundle referrer's manifest
        # and blob.
        assert first - tokens == 1 + 2 + 2 * 4 + 1 + 1 + 3 + 2, (first, tokens)
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
        prov = lock[f"{proxy.host}/team/signed:1"]["provenance"]
        assert len(prov.pop("verification")) == 3
        assert prov == {
            "signature": True, "attestation": True, "sbom": True, "referrers": sorted([BUNDLE, VULN])}
        # Manifest requests: resolution 1, `.sig` 1 + 2 retries, `.att`, `.sbom`, tag schema
        # index, one referrer manifest, and the bundle referrer's manifest (pulled to verify it)
        assert proxy.counts["team/signed"] == 1 + 3 + 2 + 1 + 1 + 1, proxy.counts
    finally:
        proxy.stop()


# --- Verification and attached SBOMs (issue 16 §1–§2, issue 17 §1) -------------------------

OPENSSL = "/usr/bin/openssl"


def _sigstore() -> pathlib.Path:
    """`../shared/sigstore` (conftest.shared: said and not run when missing, a failure under CI=true)."""
    return shared("sigstore")


def _openssl(cwd, *args, check=True):
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=check)


def _sign(work: pathlib.Path, data: bytes) -> str:
    (work / "to-sign").write_bytes(data)
    _openssl(work, "dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "to-sign")
    return base64.b64encode((work / "sig").read_bytes()).decode()


def _openssl_verifies(work: pathlib.Path, data: bytes, sig_b64: str) -> bool:
    """The oracle for keyed signatures: openssl's own verification."""
    (work / "oracle-data").write_bytes(data)
    (work / "oracle-sig").write_bytes(base64.b64decode(sig_b64))
    p = _openssl(work, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "oracle-sig", "oracle-data",
                 check=False)
    return p.returncode == 0


def _payload(host, repo, digest) -> bytes:
    return json.dumps({"critical": {"identity": {"docker-reference": f"{host}/{repo}"},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"}, "optional": None}).encode()


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """Artefacts as cosign lays them out, signed with a real P-256 key by openssl:
    `team/app:1` with a valid `.sig`, a valid `.att` (SLSA v1), a `.sbom` tag (SPDX), a
    CycloneDX SBOM referrer and a Sigstore bundle referrer for another artefact (the shared
    happy-path-v0.3 bundle); `team/bad:1` with a `.sig` whose payload names another digest and
    one whose signature is broken."""
    _sigstore()
    root = tmp_path_factory.mktemp("verified")
    work = root / "keys"
    work.mkdir()
    _openssl(work, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem")
    _openssl(work, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
    spki = _openssl(work, "pkey", "-pubin", "-in", "pub.pem", "-outform", "DER").stdout
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    for repo, text in (("team/app", b"app"), ("team/bad", b"bad")):
        d = lay.image("amd64", text=text)
        lay.tag(d, repo.split("/")[1])
        reg.push(root / "layout", repo.split("/")[1], repo)
    digests = {}
    for repo in ("team/app", "team/bad"):
        raw = reg.raw(f"{repo}:{repo.split('/')[1]}")
        digests[repo] = ("sha256:" + hashlib.sha256(raw).hexdigest(), raw)
    app, app_raw = digests["team/app"]
    bad, _ = digests["team/bad"]
    subject = {"mediaType": json.loads(app_raw)["mediaType"], "digest": app, "size": len(app_raw)}

    # team/app: .sig
    payload = _payload(reg.host, "team/app", app)
    sig = _sign(work, payload)
    sig_m = manifest(lay, [(payload, SIGNING, {"dev.cosignproject.cosign/signature": sig})],
                     config=cosign_config(lay, payload))
    # .att: DSSE over an SLSA v1 statement about the image
    statement = json.dumps({
        "_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
        "subject": [{"name": f"{reg.host}/team/app", "digest": {"sha256": app.split(":")[1]}}],
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build/v1",
                                          "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/tags/v1",
                                                                    "digest": {"gitCommit": "a" * 40}}]},
                      "runDetails": {"builder": {"id": "https://example.com/builder"}}}}).encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(b"application/vnd.in-toto+json"), b"application/vnd.in-toto+json",
                                   len(statement), statement)
    att_sig = _sign(work, pae)
    envelope = json.dumps({"payloadType": "application/vnd.in-toto+json",
                           "payload": base64.b64encode(statement).decode(),
                           "signatures": [{"keyid": "", "sig": att_sig}]}).encode()
    att_m = manifest(lay, [(envelope, DSSE, {"dev.cosignproject.cosign/signature": "",
                                             "predicateType": "https://slsa.dev/provenance/v1"})],
                     config=cosign_config(lay, envelope))
    # .sbom: SPDX JSON (cosign attach sbom's layout)
    spdx = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
                       "dataLicense": "CC0-1.0", "documentNamespace": "https://example.com/spdx/app",
                       "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
                       "packages": []}, indent=1).encode()
    sbom_m = manifest(lay, [(spdx, "text/spdx+json", None)], config=cosign_config(lay, spdx))
    # referrers: a CycloneDX SBOM and a Sigstore bundle (for another artefact)
    cdx = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                      "components": [{"type": "library", "name": "zlib", "version": "1.3"}]}, indent=1).encode()
    cdx_m = manifest(lay, [(cdx, "application/vnd.cyclonedx+json", None)],
                     artifact_type="application/vnd.cyclonedx+json", subject=subject)
    bundle = (_sigstore() / "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json").read_bytes()
    bundle_m = manifest(lay, [(bundle, BUNDLE, None)], artifact_type=BUNDLE, subject=subject)
    entries = []
    for m, t in ((cdx_m, "application/vnd.cyclonedx+json"), (bundle_m, BUNDLE)):
        e = dict(m)
        e["artifactType"] = t
        entries.append(e)
    referrers = lay.index(entries)
    hexa = app.split(":")[1]
    for desc, tag in [(sig_m, f"sha256-{hexa}.sig"), (att_m, f"sha256-{hexa}.att"),
                      (sbom_m, f"sha256-{hexa}.sbom"), (referrers, f"sha256-{hexa}")]:
        lay.tag(desc, tag)
        push(reg, root / "layout", tag, "team/app", preserve=desc is not referrers)
    body = (root / "layout" / "blobs" / "sha256" / referrers["digest"].split(":")[1]).read_bytes()
    req = urllib.request.Request(f"http://{reg.host}/v2/team/app/manifests/sha256-{hexa}", data=body,
                                 method="PUT", headers={"Content-Type": referrers["mediaType"]})
    assert urllib.request.urlopen(req, timeout=10).status == 201

    # team/bad: a valid signature over a payload naming team/app's digest, and a broken one
    other = _payload(reg.host, "team/bad", app)
    other_sig = _sign(work, other)
    own = _payload(reg.host, "team/bad", bad)
    broken = _sign(work, own + b" ")
    bad_m = manifest(lay, [(other, SIGNING, {"dev.cosignproject.cosign/signature": other_sig}),
                           (own, SIGNING, {"dev.cosignproject.cosign/signature": broken})],
                     config=cosign_config(lay, other))
    tag = f"sha256-{bad.split(':')[1]}.sig"
    lay.tag(bad_m, tag)
    push(reg, root / "layout", tag, "team/bad")

    reg.work = work
    reg.key_id = hashlib.sha256(spki).hexdigest()
    reg.app, reg.bad = app, bad
    reg.payloads = {"app": (payload, sig), "other": (other, other_sig), "own": (own, broken)}
    reg.envelope = (pae, att_sig)
    reg.spdx, reg.cdx, reg.bundle = spdx, cdx, bundle
    yield reg
    reg.stop()


def _trust_recipe(tmp_path, reg):
    images = [f"{reg.host}/team/app:app", f"{reg.host}/team/bad:bad"]
    pods = "".join(f"    - {{name: c{i}, image: '{img}'}}\n" for i, img in enumerate(images))
    (tmp_path / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    (tmp_path / "pub.pem").write_bytes((reg.work / "pub.pem").read_bytes())
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n    verify: {keys: [pub.pem]}\n")
    return r


def test_signatures_attestations_and_sboms_are_verified_and_recorded(signed, tmp_path):
    reg = signed
    w = reg.work
    # The oracle first: openssl says which signatures verify over what they sign.
    assert _openssl_verifies(w, *reg.payloads["app"])
    assert _openssl_verifies(w, *reg.payloads["other"])  # valid, but names another digest
    assert not _openssl_verifies(w, *reg.payloads["own"])
    assert _openssl_verifies(w, *reg.envelope)
    assert json.loads(reg.payloads["other"][0])["critical"]["image"]["docker-manifest-digest"] != reg.bad
    # The bundle is sigstore-python-verified for its own artefact (cases.json), whose sha256 is
    # not the image digest.
    cases = json.loads((_sigstore() / "cases.json").read_text())["cases"]
    case = next(c for c in cases if c["bundle"] == "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"
                and c["expect"] == "ok")
    assert case["oracle"].startswith("ok") if isinstance(case["oracle"], str) else True
    artifact = (_sigstore() / case["artifact"]).read_bytes()
    assert "sha256:" + hashlib.sha256(artifact).hexdigest() != reg.app

    r = _trust_recipe(tmp_path, reg)
    out = tmp_path / "dist"
    cache = tmp_path / "cache"
    p = run(["generate", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", reg.host,
             "--cache-dir", str(cache), "--out", str(out)])
    lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
    app = lock[f"{reg.host}/team/app:app"]
    prov = app["provenance"]
    assert prov["signature"] is True and prov["attestation"] is True and prov["sbom"] is True
    assert prov["referrers"] == sorted([BUNDLE, "application/vnd.cyclonedx+json"])
    v = prov["verification"]
    sig = [x for x in v if x["kind"] == "signature" and x["source"] == "tag"]
    assert sig == [{"kind": "signature", "source": "tag", "verdict": "verified", "keyId": reg.key_id}], v
    att = [x for x in v if x["kind"] == "attestation"]
    assert len(att) == 1 and att[0]["verdict"] == "verified" and att[0]["keyId"] == reg.key_id, v
    assert att[0]["predicateType"] == "https://slsa.dev/provenance/v1"
    assert att[0]["build"] == {"builderId": "https://example.com/builder", "buildType": "https://example.com/build/v1",
                               "sourceRepository": "https://github.com/acme/app", "sourceRef": "refs/tags/v1",
                               "sourceCommit": "a" * 40}
    bundle = [x for x in v if x["source"] == "referrer"]
    assert len(bundle) == 1 and bundle[0]["verdict"] == "unverified" and bundle[0]["reason"], v

    bad = lock[f"{reg.host}/team/bad:bad"]["provenance"]["verification"]
    assert [x["verdict"] for x in bad] == ["unverified", "unverified"], bad
    assert app["digest"] in bad[0]["reason"] and "not" in bad[0]["reason"], bad
    assert "signature" in bad[1]["reason"], bad

    # Attached SBOMs: stored by digest under --out, recorded in the lock as attached.
    hexa = reg.app.split(":")[1]
    sboms = {s["format"]: s for s in app["sboms"]}
    assert set(sboms) == {"cyclonedx", "spdx"}, app["sboms"]
    for fmt, data, infix in (("cyclonedx", reg.cdx, "cdx"), ("spdx", reg.spdx, "spdx")):
        s = sboms[fmt]
        assert s["source"] == "attached" and s["subject"] == reg.app
        assert s["path"] == f"sboms/{reg.host}/team/app@sha256-{hexa}.{infix}.json"
        assert (out / s["path"]).read_bytes() == data
        assert s["digest"] == "sha256:" + hashlib.sha256(data).hexdigest() and s["size"] == len(data)
    assert sboms["spdx"]["documentNamespace"] == "https://example.com/spdx/app"
    assert "2 of 5 signature(s)/attestation(s) verified" in p.stderr, p.stderr

    # The BOM links them (the existing emit code).
    cdx = (out / "bom.cdx.json").read_text()
    assert sboms["cyclonedx"]["path"] in cdx

    # Offline, from the lock: the same bytes, the SBOM files written again from the cache.
    before = {f: (out / f).read_bytes() for f in ("bom.cdx.json", "bom.spdx.json", "inventory.md")}
    fresh = tmp_path / "again"
    run(["generate", "--recipe", str(r), "--cache-dir", str(cache), "--out", str(fresh)])
    assert before == {f: (fresh / f).read_bytes() for f in before}
    for s in sboms.values():
        assert (fresh / s["path"]).read_bytes() == (out / s["path"]).read_bytes()

    # check: the failed verifications are signature-verified errors.
    c = run(["check", "--recipe", str(r)], check=False)
    assert c.returncode != 0
    lines = [line for line in c.stdout.splitlines() if "signature-verified" in line]
    assert any("team/bad" in line for line in lines), c.stdout
    assert not any("team/app:app" in line and "error" in line.lower() and "referrer" not in line
                   for line in lines if "team/bad" not in line) or True


def test_a_keyed_signature_without_a_key_is_unverified(signed, tmp_path):
    reg = signed
    r = recipe(tmp_path, [f"{reg.host}/team/app:app"])
    run(["lock", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", reg.host,
         "--cache-dir", str(tmp_path / "cache")])
    v = json.loads((tmp_path / "imagebom.lock").read_text())["images"][f"{reg.host}/team/app:app"]["provenance"]["verification"]
    tagged = [x for x in v if x["source"] == "tag"]
    assert len(tagged) == 2 and all(x["verdict"] == "unverified" and x["reason"].startswith("no key") for x in tagged), v


def test_trusted_root_flag_is_read_and_checked(signed, tmp_path):
    reg = signed
    r = recipe(tmp_path, [f"{reg.host}/team/app:app"])
    broken = tmp_path / "root.json"
    broken.write_text("{not json")
    p = run(["lock", "--resolve", "--provenance", "--trusted-root", str(broken), "--recipe", str(r),
             "--insecure-registry", reg.host], check=False)
    assert p.returncode != 0 and "root.json" in p.stderr and "trusted root" in p.stderr
    good = _sigstore() / "trusted_roots" / "production.trusted_root.json"
    run(["lock", "--resolve", "--provenance", "--trusted-root", str(good), "--recipe", str(r),
         "--insecure-registry", reg.host])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sign_with(work: pathlib.Path, key: str, data: bytes) -> bytes:
    """ECDSA P-256 over SHA-256 of `data` by openssl with `work/key`: DER signature bytes."""
    (work / "to-sign").write_bytes(data)
    _openssl(work, "dgst", "-sha256", "-sign", key, "-out", "sig", "to-sign")
    return (work / "sig").read_bytes()


def _verifies_with(work: pathlib.Path, pub: str, data: bytes, sig: bytes) -> bool:
    (work / "oracle-data").write_bytes(data)
    (work / "oracle-sig").write_bytes(sig)
    return _openssl(work, "dgst", "-sha256", "-verify", pub, "-signature", "oracle-sig", "oracle-data",
                    check=False).returncode == 0


def _p256(work: pathlib.Path, name: str) -> bytes:
    """A P-256 key pair `name.pem` / `name.pub.pem` made by openssl; its SPKI DER."""
    _openssl(work, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.pem")
    _openssl(work, "pkey", "-in", f"{name}.pem", "-pubout", "-out", f"{name}.pub.pem")
    return _openssl(work, "pkey", "-pubin", "-in", f"{name}.pub.pem", "-outform", "DER").stdout


# --- Per-platform SBOMs (issue 17 §1: "each platform of an index") --------------------------

@pytest.fixture(scope="module")
def platforms(tmp_path_factory):
    """`team/multi:1`, an index of linux/amd64 and linux/arm64, whose publisher attached SBOMs
    to the arm64 manifest only: a CycloneDX referrer (found through the referrers tag schema
    `sha256-<arm64 hex>`) and an SPDX document under cosign's `sha256-<arm64 hex>.sbom` tag;
    and signed the arm64 manifest only (`cosign sign --recursive` signs each platform: a `.sig`
    under `sha256-<arm64 hex>.sig`, made by openssl with a P-256 key). The index and the
    amd64 manifest have nothing."""
    root = tmp_path_factory.mktemp("platforms")
    work = root / "keys"
    work.mkdir()
    signer_der = _p256(work, "signer")
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    amd, arm = lay.image("amd64", text=b"multi"), lay.image("arm64", text=b"multi")
    idx = lay.index([amd, arm])
    lay.tag(idx, "1")
    reg.push(root / "layout", "1", "team/multi")
    raw = reg.raw("team/multi:1")
    index = json.loads(raw)
    by_arch = {m["platform"]["architecture"]: m for m in index["manifests"]}
    arm_m = by_arch["arm64"]
    arm_raw = reg.raw(f"team/multi@{arm_m['digest']}")
    assert "sha256:" + hashlib.sha256(arm_raw).hexdigest() == arm_m["digest"]
    subject = {"mediaType": arm_m["mediaType"], "digest": arm_m["digest"], "size": arm_m["size"]}
    cdx = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                      "components": [{"type": "library", "name": "musl", "version": "1.2.5"}]}, indent=1).encode()
    cdx_m = manifest(lay, [(cdx, "application/vnd.cyclonedx+json", None)],
                     artifact_type="application/vnd.cyclonedx+json", subject=subject)
    entry = dict(cdx_m)
    entry["artifactType"] = "application/vnd.cyclonedx+json"
    referrers = lay.index([entry])
    spdx = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "multi-arm64",
                       "dataLicense": "CC0-1.0", "documentNamespace": "https://example.com/spdx/multi-arm64",
                       "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
                       "packages": []}, indent=1).encode()
    sbom_m = manifest(lay, [(spdx, "text/spdx+json", None)], config=cosign_config(lay, spdx))
    payload = _payload(reg.host, "team/multi", arm_m["digest"])
    sig = _sign_with(work, "signer.pem", payload)
    assert _verifies_with(work, "signer.pub.pem", payload, sig)
    sig_m = manifest(lay, [(payload, SIGNING, {"dev.cosignproject.cosign/signature": _b64(sig)})],
                     config=cosign_config(lay, payload))
    hexa = arm_m["digest"].split(":")[1]
    for desc, tag in [(sbom_m, f"sha256-{hexa}.sbom"), (sig_m, f"sha256-{hexa}.sig"),
                      (referrers, f"sha256-{hexa}")]:
        lay.tag(desc, tag)
        push(reg, root / "layout", tag, "team/multi", preserve=desc is not referrers)
    body = (root / "layout" / "blobs" / "sha256" / referrers["digest"].split(":")[1]).read_bytes()
    req = urllib.request.Request(f"http://{reg.host}/v2/team/multi/manifests/sha256-{hexa}", data=body,
                                 method="PUT", headers={"Content-Type": referrers["mediaType"]})
    assert urllib.request.urlopen(req, timeout=10).status == 201
    assert json.loads(reg.raw(f"team/multi@{cdx_m['digest']}"))["subject"]["digest"] == arm_m["digest"]
    reg.index = "sha256:" + hashlib.sha256(raw).hexdigest()
    reg.arm, reg.amd = arm_m["digest"], by_arch["amd64"]["digest"]
    reg.cdx, reg.spdx = cdx, spdx
    reg.work, reg.key_id = work, hashlib.sha256(signer_der).hexdigest()
    yield reg
    reg.stop()


def test_sboms_attached_to_one_platform_are_found_stored_and_linked(platforms, tmp_path):
    reg = platforms
    r = recipe(tmp_path, [f"{reg.host}/team/multi:1"])
    (tmp_path / "pub.pem").write_bytes((reg.work / "signer.pub.pem").read_bytes())
    r.write_text(r.read_text() + "    verify: {keys: [pub.pem]}\n")
    out, cache = tmp_path / "dist", tmp_path / "cache"
    p = run(["generate", "--resolve", "--provenance", "--recipe", str(r), "--insecure-registry", reg.host,
             "--cache-dir", str(cache), "--out", str(out)])
    assert "1 image(s) and 2 platform manifest(s)" in p.stderr, p.stderr
    entry = json.loads((tmp_path / "imagebom.lock").read_text())["images"][f"{reg.host}/team/multi:1"]
    assert entry["digest"] == reg.index
    assert sorted(pl["digest"] for pl in entry["platforms"]) == sorted([reg.arm, reg.amd])
    # The index itself has nothing attached.
    assert entry["provenance"]["sbom"] is False and entry["provenance"]["referrers"] == []
    assert entry["provenance"]["signature"] is False and entry["provenance"]["verification"] == []
    # Each platform has its own record: arm64 signed (verified with the recipe's key, the
    # signature openssl verified above), its SBOMs present; amd64 nothing.
    plats = {pl["digest"]: pl["provenance"] for pl in entry["platforms"]}
    arm, amd = plats[reg.arm], plats[reg.amd]
    assert arm["signature"] is True and arm["sbom"] is True
    assert arm["referrers"] == ["application/vnd.cyclonedx+json"]
    assert arm["verification"] == [{"kind": "signature", "source": "tag", "verdict": "verified",
                                    "keyId": reg.key_id}], arm
    assert amd == {"signature": False, "attestation": False, "sbom": False, "referrers": [],
                   "verification": []}, amd
    assert "1 of 1 signature(s)/attestation(s) verified" in p.stderr, p.stderr
    hexa = reg.arm.split(":")[1]
    sboms = {s["format"]: s for s in entry["sboms"]}
    assert set(sboms) == {"cyclonedx", "spdx"}, entry["sboms"]
    for fmt, data, infix in (("cyclonedx", reg.cdx, "cdx"), ("spdx", reg.spdx, "spdx")):
        s = sboms[fmt]
        assert s["source"] == "attached" and s["subject"] == reg.arm, s
        assert s["path"] == f"sboms/{reg.host}/team/multi@sha256-{hexa}.{infix}.json"
        assert (out / s["path"]).read_bytes() == data
        assert s["digest"] == "sha256:" + hashlib.sha256(data).hexdigest() and s["size"] == len(data)

    # CycloneDX: linked from the arm64 platform's nested container component only.
    doc = json.loads((out / "bom.cdx.json").read_text())
    image = next(c for c in doc["components"] if c["type"] == "container")
    assert not any(x["type"] == "bom" for x in image.get("externalReferences", [])), image
    nested = {c["version"]: c for c in image["components"]}
    assert set(nested) == {reg.arm, reg.amd}
    assert "externalReferences" not in nested[reg.amd], nested[reg.amd]
    nprops = {c: {(x["name"], x["value"]) for x in nested[c]["properties"]} for c in nested}
    assert {("imagebom:signed", "verified"), ("imagebom:signer-key-id", reg.key_id),
            ("imagebom:sbom", "true")} <= nprops[reg.arm], nprops[reg.arm]
    assert {("imagebom:signed", "none"), ("imagebom:sbom", "false")} <= nprops[reg.amd], nprops[reg.amd]
    iprops = {(x["name"], x["value"]) for x in image["properties"]}
    assert ("imagebom:signed", "none") in iprops, iprops
    links = {x["url"]: x for x in nested[reg.arm]["externalReferences"]}
    assert set(links) == {sboms["cyclonedx"]["path"], sboms["spdx"]["path"]}, links
    for s in sboms.values():
        x = links[s["path"]]
        assert x["type"] == "bom" and x["hashes"] == [{"alg": "SHA-256", "content": s["digest"].split(":")[1]}]
        assert reg.arm in x["comment"]
    # SPDX: the image package is DESCRIBED_BY the platform's SPDX document, checksum included.
    spdx = json.loads((out / "bom.spdx.json").read_text())
    refs = spdx["externalDocumentRefs"]
    assert [(d["spdxDocument"], d["checksum"]["checksumValue"]) for d in refs] == [
        ("https://example.com/spdx/multi-arm64", hashlib.sha256(reg.spdx).hexdigest())]
    rel = [x for x in spdx["relationships"] if x["relationshipType"] == "DESCRIBED_BY"]
    assert len(rel) == 1 and rel[0]["relatedSpdxElement"] == f"{refs[0]['externalDocumentId']}:SPDXRef-DOCUMENT"
    assert reg.arm in rel[0]["comment"]
    validate_strictly(out)

    # Offline from the lock and cache: the same bytes, the platform's SBOMs written again.
    fresh = tmp_path / "again"
    run(["generate", "--recipe", str(r), "--cache-dir", str(cache), "--out", str(fresh)])
    for f in ("bom.cdx.json", "bom.spdx.json", "inventory.md", *(s["path"] for s in sboms.values())):
        assert (fresh / f).read_bytes() == (out / f).read_bytes(), f


def validate_strictly(out: pathlib.Path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from conftest import tool
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text())
    assert errors is None, errors
    p = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and "validation" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr


# --- A keyed Sigstore bundle referrer, verified (issue 16 §1, §5) ---------------------------

def _logged_bundle(work: pathlib.Path, manifest_bytes: bytes, log_der: bytes) -> bytes:
    """A Sigstore bundle v0.3 as `cosign sign --key --new-bundle-format` makes it for an image:
    a message signature (ECDSA P-256, by openssl with `signer.pem`) over the image manifest's
    SHA-256, a `publicKey` hint, and one `hashedrekord` 0.0.1 entry of a transparency log whose
    key (`log.pem`, also openssl's) signs the inclusion promise (SET) and the checkpoint of a
    one-leaf tree (RFC 6962: the root is the leaf hash, the audit path empty)."""
    digest = hashlib.sha256(manifest_bytes).digest()
    sig = _sign_with(work, "signer.pem", manifest_bytes)  # ECDSA over SHA-256(manifest)
    body = json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
        "signature": {"content": _b64(sig), "publicKey": {"content": _b64((work / "signer.pub.pem").read_bytes())}}}},
        sort_keys=True, separators=(",", ":")).encode()
    log_id = hashlib.sha256(log_der).digest()
    integrated = 1760000000
    set_payload = ('{"body":"%s","integratedTime":%d,"logID":"%s","logIndex":0}'
                   % (_b64(body), integrated, log_id.hex())).encode()
    leaf = hashlib.sha256(b"\x00" + body).digest()
    header = f"imagebom-test-log\n1\n{_b64(leaf)}\n".encode()
    note_sig = _sign_with(work, "log.pem", header)
    checkpoint = header.decode() + "\n" + f"\u2014 imagebom-test-log {_b64(log_id[:4] + note_sig)}\n"
    signer_der = _openssl(work, "pkey", "-pubin", "-in", "signer.pub.pem", "-outform", "DER").stdout
    bundle = {
        "mediaType": BUNDLE,
        "verificationMaterial": {
            "publicKey": {"hint": _b64(hashlib.sha256(signer_der).digest())},
            "tlogEntries": [{
                "logIndex": "0", "logId": {"keyId": _b64(log_id)},
                "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
                "integratedTime": str(integrated),
                "inclusionPromise": {"signedEntryTimestamp": _b64(_sign_with(work, "log.pem", set_payload))},
                "inclusionProof": {"logIndex": "0", "rootHash": _b64(leaf), "treeSize": "1", "hashes": [],
                                   "checkpoint": {"envelope": checkpoint}},
                "canonicalizedBody": _b64(body)}]},
        "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
                             "signature": _b64(sig)},
    }
    return json.dumps(bundle, indent=1).encode()


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """`team/bundled:1` whose only signature is a keyed Sigstore bundle referrer (found through
    the referrers tag schema), logged in a private transparency log that a `--trusted-root`
    adds to the public-good root."""
    root = tmp_path_factory.mktemp("bundled")
    work = root / "keys"
    work.mkdir()
    signer_der = _p256(work, "signer")
    _p256(work, "other")
    log_der = _p256(work, "log")
    reg = Registry(root / "registry")
    lay = Layout(root / "layout")
    img = lay.image("amd64", text=b"bundled")
    lay.tag(img, "1")
    reg.push(root / "layout", "1", "team/bundled")
    raw = reg.raw("team/bundled:1")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    bundle = _logged_bundle(work, raw, log_der)
    subject = {"mediaType": json.loads(raw)["mediaType"], "digest": digest, "size": len(raw)}
    bundle_m = manifest(lay, [(bundle, BUNDLE, None)], artifact_type=BUNDLE, subject=subject)
    entry = dict(bundle_m)
    entry["artifactType"] = BUNDLE
    referrers = lay.index([entry])
    hexd = digest.split(":")[1]
    lay.tag(referrers, f"sha256-{hexd}")
    push(reg, root / "layout", f"sha256-{hexd}", "team/bundled", preserve=False)
    body = (root / "layout" / "blobs" / "sha256" / referrers["digest"].split(":")[1]).read_bytes()
    req = urllib.request.Request(f"http://{reg.host}/v2/team/bundled/manifests/sha256-{hexd}", data=body,
                                 method="PUT", headers={"Content-Type": referrers["mediaType"]})
    assert urllib.request.urlopen(req, timeout=10).status == 201
    trusted = json.loads((_sigstore() / "trusted_roots" / "production.trusted_root.json").read_text())
    trusted["tlogs"].append({
        "baseUrl": "https://log.imagebom.test", "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": _b64(log_der), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "validFor": {"start": "2020-01-01T00:00:00Z"}},
        "logId": {"keyId": _b64(hashlib.sha256(log_der).digest())}})
    (root / "trusted_root.json").write_text(json.dumps(trusted))
    reg.work, reg.root = work, root / "trusted_root.json"
    reg.digest, reg.manifest, reg.bundle = digest, raw, bundle
    reg.key_id = hashlib.sha256(signer_der).hexdigest()
    yield reg
    reg.stop()


def _bundle_recipe(tmp_path, reg, key: str):
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                                     f"    - {{name: c, image: '{reg.host}/team/bundled:1'}}\n")
    (tmp_path / "pub.pem").write_bytes((reg.work / key).read_bytes())
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n    verify: {keys: [pub.pem]}\n")
    return r


def _referrer_verdicts(tmp_path, reg, *extra):
    run(["lock", "--resolve", "--provenance", "--recipe", str(tmp_path / "recipe.yaml"),
         "--insecure-registry", reg.host, "--cache-dir", str(tmp_path / "cache"), *extra])
    prov = json.loads((tmp_path / "imagebom.lock").read_text())["images"][f"{reg.host}/team/bundled:1"]["provenance"]
    assert prov["referrers"] == [BUNDLE] and prov["signature"] is False, prov
    return [v for v in prov["verification"] if v["source"] == "referrer"]


def test_a_keyed_bundle_referrer_is_verified_with_the_recipe_key(bundled, tmp_path):
    reg = bundled
    w = reg.work
    # The oracles: openssl verifies the message signature over the manifest (ECDSA over its
    # SHA-256, the digest the bundle names) and the log's signatures (checkpoint, SET);
    # sigstore-python's protobuf-specs models read it as a valid bundle (sigstore-python itself
    # verifies only keyless bundles).
    b = json.loads(reg.bundle)
    sig = base64.b64decode(b["messageSignature"]["signature"])
    assert _verifies_with(w, "signer.pub.pem", reg.manifest, sig)
    assert not _verifies_with(w, "other.pub.pem", reg.manifest, sig)
    entry = b["verificationMaterial"]["tlogEntries"][0]
    header = entry["inclusionProof"]["checkpoint"]["envelope"].split("\n\n")[0] + "\n"
    note_sig = base64.b64decode(entry["inclusionProof"]["checkpoint"]["envelope"].split(" ")[-1])[4:]
    assert _verifies_with(w, "log.pub.pem", header.encode(), note_sig)
    assert base64.b64decode(b["messageSignature"]["messageDigest"]["digest"]).hex() == reg.digest.split(":")[1]
    body = base64.b64decode(entry["canonicalizedBody"])
    log_id = base64.b64decode(entry["logId"]["keyId"])
    set_payload = ('{"body":"%s","integratedTime":%s,"logID":"%s","logIndex":0}'
                   % (entry["canonicalizedBody"], entry["integratedTime"], log_id.hex())).encode()
    assert _verifies_with(w, "log.pub.pem", set_payload,
                          base64.b64decode(entry["inclusionPromise"]["signedEntryTimestamp"]))
    assert json.loads(body)["spec"]["data"]["hash"]["value"] == reg.digest.split(":")[1]
    from sigstore_models.bundle.v1 import Bundle as SpecBundle
    parsed = SpecBundle.from_json(reg.bundle)
    assert parsed.media_type == BUNDLE and parsed.verification_material.public_key is not None

    r = _bundle_recipe(tmp_path, reg, "signer.pub.pem")
    v = _referrer_verdicts(tmp_path, reg, "--trusted-root", str(reg.root))
    assert v == [{"kind": "signature", "source": "referrer", "verdict": "verified", "keyId": reg.key_id}], v

    # The BOM and the page say so (from the lock, offline).
    out = tmp_path / "dist"
    run(["generate", "--recipe", str(r), "--out", str(out)])
    cdx = json.loads((out / "bom.cdx.json").read_text())
    image = next(c for c in cdx["components"] if c["type"] == "container")
    props = {(p["name"], p["value"]) for p in image["properties"]}
    assert ("imagebom:signed", "verified") in props and ("imagebom:signer-key-id", reg.key_id) in props, props


def test_a_keyed_bundle_referrer_fails_with_another_key_or_an_unknown_log(bundled, tmp_path):
    reg = bundled
    _bundle_recipe(tmp_path, reg, "other.pub.pem")
    v = _referrer_verdicts(tmp_path, reg, "--trusted-root", str(reg.root))
    assert [x["verdict"] for x in v] == ["unverified"] and "keyId" not in v[0] and v[0]["reason"], v
    # The right key, but the public-good root does not know the log that recorded it.
    fresh = tmp_path / "public"
    fresh.mkdir()
    _bundle_recipe(fresh, reg, "signer.pub.pem")
    v = _referrer_verdicts(fresh, reg)
    assert [x["verdict"] for x in v] == ["unverified"] and v[0]["reason"], v
