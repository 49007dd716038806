"""The provenance records of a lock, emitted offline: `fixtures/provenance` holds a recipe and
a lock whose images carry every kind of verification record — a verified keyless signer with
verified SLSA provenance and an attached CycloneDX SBOM, a verified keyed signer with an
attached SPDX SBOM, a failed signature, an image whose registry could not be checked, one
checked and unsigned, one never checked — and a cache with the SBOMs' bytes (content
addressed, as `lock --resolve --provenance` leaves it). `imagebom generate` writes the BOMs
from them without a registry; the official validators check the documents strictly."""
import hashlib
import json
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT, run, tool

FIXTURE = ROOT / "fixtures" / "provenance"
R = "registry.example.test/acme"
KEYLESS_SUBJECT = "https://github.com/acme/keyless/.github/workflows/release.yml@refs/tags/v1.0"
ISSUER = "https://token.actions.githubusercontent.com"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OUTPUTS = ("bom.cdx.json", "bom.spdx.json", "inventory.md")


@pytest.fixture
def fixture(tmp_path):
    """A copy of the fixture (generate may rewrite files beside the recipe)."""
    d = tmp_path / "fixture"
    shutil.copytree(FIXTURE, d)
    return d


def generate(d: pathlib.Path, out: pathlib.Path, cache=True):
    args = ["generate", "--recipe", str(d / "recipe.yaml"), "--out", str(out)]
    return run(args + ["--cache-dir", str(d / "cache" if cache else d / "empty-cache")])


def lock(d):
    return json.loads((d / "imagebom.lock").read_text())["images"]


def containers(doc):
    return {c["name"]: c for c in doc["components"] if c["type"] == "container"}


def props(c, prefix="imagebom:"):
    out = {}
    for p in c.get("properties", []):
        if p["name"].startswith(prefix):
            out.setdefault(p["name"], []).append(p["value"])
    return out


def test_documents_validate_strictly(fixture, tmp_path):
    out = tmp_path / "dist"
    generate(fixture, out)
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text()) is None
    p = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and "validation" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    import jsonschema
    schema = json.loads((ROOT / "schemas" / "spdx-2.3.schema.json").read_text())
    jsonschema.validate(json.loads((out / "bom.spdx.json").read_text()), schema)


def test_cyclonedx_names_signers_builders_sources_and_sboms(fixture, tmp_path):
    out = tmp_path / "dist"
    generate(fixture, out)
    images = lock(fixture)
    c = containers(json.loads((out / "bom.cdx.json").read_text()))
    assert set(c) == {f"{R}/{n}" for n in ("keyless", "keyed", "tampered", "unchecked", "unsigned", "never")}

    keyless = props(c[f"{R}/keyless"])
    assert keyless["imagebom:signed"] == ["verified"]
    assert keyless["imagebom:signer-identity"] == [KEYLESS_SUBJECT]
    assert keyless["imagebom:signer-issuer"] == [ISSUER]
    assert keyless["imagebom:build-builder-id"] == ["https://github.com/actions/runner/github-hosted"]
    assert keyless["imagebom:build-source-repository"] == ["https://github.com/acme/keyless"]
    assert keyless["imagebom:build-source-commit"] == [COMMIT]
    assert keyless["imagebom:build-source-ref"] == ["refs/tags/v1.0"]
    refs = {x["type"]: x for x in c[f"{R}/keyless"]["externalReferences"]}
    assert refs["vcs"]["url"] == "https://github.com/acme/keyless" and COMMIT in refs["vcs"]["comment"]
    assert refs["build-meta"]["url"] == "https://actions.github.io/buildtypes/workflow/v1"
    assert refs["build-system"]["url"] == "https://github.com/actions/runner/github-hosted"
    sbom = images[f"{R}/keyless:1.0"]["sboms"][0]
    assert refs["bom"]["url"] == sbom["path"]
    assert refs["bom"]["hashes"] == [{"alg": "SHA-256", "content": sbom["digest"].split(":")[1]}]
    # The linked file is written from the cache, the bytes the lock names.
    assert "sha256:" + hashlib.sha256((out / sbom["path"]).read_bytes()).hexdigest() == sbom["digest"]

    keyed = props(c[f"{R}/keyed"])
    key_id = images[f"{R}/keyed:2.0"]["provenance"]["verification"][0]["keyId"]
    assert keyed["imagebom:signed"] == ["verified"] and keyed["imagebom:signer-key-id"] == [key_id]
    assert "imagebom:signer-identity" not in keyed and "imagebom:build-builder-id" not in keyed

    tampered = props(c[f"{R}/tampered"])
    assert tampered["imagebom:signed"] == ["unverified"] and tampered["imagebom:signature"] == ["true"]
    assert not any(k.startswith("imagebom:signer") for k in tampered), tampered
    assert tampered["imagebom:verification"] == ["signature|tag|unverified|||the signature does not verify over the payload"]

    # Could not be checked is "unknown"; checked and absent is "none"/"false"; never checked
    # carries no provenance claim at all.
    unchecked, unsigned = props(c[f"{R}/unchecked"]), props(c[f"{R}/unsigned"])
    assert unchecked["imagebom:signed"] == ["unknown"] and unchecked["imagebom:signature"] == ["unknown"]
    assert unchecked["imagebom:referrers"] == ["unknown"]
    assert unsigned["imagebom:signed"] == ["none"] and unsigned["imagebom:signature"] == ["false"]
    assert unsigned["imagebom:referrers"] == ["0"]
    assert "imagebom:signed" not in props(c[f"{R}/never"])
    for name in ("tampered", "unchecked", "unsigned", "never"):
        assert "externalReferences" not in c[f"{R}/{name}"], name


def test_spdx_annotations_and_the_attached_spdx_document(fixture, tmp_path):
    out = tmp_path / "dist"
    generate(fixture, out)
    doc = json.loads((out / "bom.spdx.json").read_text())
    pkgs = {p["name"]: p for p in doc["packages"]}

    def notes(name):
        return [a["comment"] for a in pkgs[f"{R}/{name}"].get("annotations", [])]

    assert f"imagebom:signer-identity={KEYLESS_SUBJECT}" in notes("keyless")
    assert f"imagebom:signer-issuer={ISSUER}" in notes("keyless")
    assert f"imagebom:build-source-commit={COMMIT}" in notes("keyless")
    assert "imagebom:signed=unknown" in notes("unchecked") and "imagebom:signed=none" in notes("unsigned")
    assert "imagebom:signed=unverified" in notes("tampered")
    sbom = lock(fixture)[f"{R}/keyed:2.0"]["sboms"][0]
    refs = doc["externalDocumentRefs"]
    assert [(r["spdxDocument"], r["checksum"]) for r in refs] == [
        (sbom["documentNamespace"], {"algorithm": "SHA256", "checksumValue": sbom["digest"].split(":")[1]})]
    rel = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBED_BY"]
    assert [(r["spdxElementId"], r["relatedSpdxElement"]) for r in rel] == [
        (pkgs[f"{R}/keyed"]["SPDXID"], f"{refs[0]['externalDocumentId']}:SPDXRef-DOCUMENT")]
    assert (out / sbom["path"]).read_bytes() == (fixture / "cache" / "blobs" / "sha256" / sbom["digest"].split(":")[1]).read_bytes()


def test_the_page_matrix_tells_unknown_from_none(fixture, tmp_path):
    out = tmp_path / "dist"
    generate(fixture, out)
    page = (out / "inventory.md").read_text()
    start = page.index("| image | signed | signer | provenance | SBOM attested |")
    rows = {}
    for line in page[start:].splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    key_id = lock(fixture)[f"{R}/keyed:2.0"]["provenance"]["verification"][0]["keyId"]
    assert rows == {
        f"{R}/keyed:2.0": ["**verified**", f"key `{key_id}`", "–", "attached, not attested"],
        f"{R}/keyless:1.0": ["**verified**", f"`{KEYLESS_SUBJECT}` (`{ISSUER}`)",
                             "builder `https://github.com/actions/runner/github-hosted`, "
                             f"source `https://github.com/acme/keyless@{COMMIT}`", "attached, not attested"],
        f"{R}/never:6.0": ["unknown", "–", "–", "unknown"],
        f"{R}/tampered:3.0": ["present, unverified", "–", "–", "none"],
        f"{R}/unchecked:4.0": ["unknown", "–", "–", "unknown"],
        f"{R}/unsigned:5.0": ["none", "–", "–", "none"],
    }, rows


def test_twice_byte_identical_and_the_lock_untouched(fixture, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(fixture, a)
    generate(fixture, b)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len([f for f in files if str(f).startswith("sboms/")]) == 2, files
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (fixture / "imagebom.lock").read_bytes() == (FIXTURE / "imagebom.lock").read_bytes()


def test_without_the_cache_the_sboms_are_named_missing_not_invented(fixture, tmp_path):
    out = tmp_path / "dist"
    p = generate(fixture, out, cache=False)
    assert p.stderr.count("warning: the attached SBOM") == 2, p.stderr
    assert not (out / "sboms").exists()
    # The links stay: the lock records them, with the digest that any copy must match.
    cdx = (out / "bom.cdx.json").read_text()
    for s in (lock(fixture)[f"{R}/keyless:1.0"]["sboms"] + lock(fixture)[f"{R}/keyed:2.0"]["sboms"]):
        assert s["path"] in cdx
