"""The emitted documents, read by the tools our users already run."""
import json
import subprocess

from conftest import tool


def test_cyclonedx_strict_validator(out):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str((out / "bom.cdx.json").read_text())
    assert errors is None, errors


def test_cyclonedx_validator_can_fail(out):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    doc = json.loads((out / "bom.cdx.json").read_text())
    doc["components"][0]["type"] = "box"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc)) is not None


def test_pyspdxtools_validates(out):
    p = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "validation" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr


def test_pyspdxtools_can_fail(out, tmp_path):
    doc = json.loads((out / "bom.spdx.json").read_text())
    doc["relationships"][0]["relatedSpdxElement"] = "SPDXRef-nowhere"
    bad = tmp_path / "bad.spdx.json"
    bad.write_text(json.dumps(doc))
    p = subprocess.run([tool("pyspdxtools"), "-i", str(bad)], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 or "SPDXRef-nowhere" in p.stdout + p.stderr


def test_ntia_minimum_elements(out):
    p = subprocess.run([tool("sbomcheck"), "-r", "json", str(out / "bom.spdx.json")],
                       capture_output=True, text=True, timeout=120)
    report = json.loads(p.stdout)
    assert report["isNtiaConformant"] is True, json.dumps(report, indent=1)
    assert report["componentSuppliers"]["allProvided"], report["componentSuppliers"]
    assert report["parsingError"] == [] and report["validationMessages"] == []


def syft_convert(path, fmt):
    p = subprocess.run([tool("syft"), "convert", str(path), "-o", fmt],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_syft_reads_spdx_and_keeps_every_image_purl(out, image_purls):
    # syft exits 0 on junk: assert on what it decoded.
    doc = syft_convert(out / "bom.spdx.json", "syft-json")
    purls = sorted(a["purl"] for a in doc["artifacts"] if a.get("purl"))
    # Syft re-renders purls in its own (older) canonical form; compare parsed identities.
    from packageurl import PackageURL

    def ident(p):
        u = PackageURL.from_string(p)
        return (u.type, u.name, u.version, u.qualifiers.get("repository_url"), u.qualifiers.get("tag"))

    assert sorted(map(ident, purls)) == sorted(map(ident, image_purls))


def test_syft_reads_cyclonedx(out, cdx):
    # Syft (and so Grype) decode CycloneDX `container` components as scan sources, not
    # packages: the recipe components come through, the document parses.
    doc = syft_convert(out / "bom.cdx.json", "syft-json")
    names = {a["name"] for a in doc["artifacts"]}
    recipe_components = {c["name"] for c in cdx["components"] if c["type"] == "application"}
    assert recipe_components <= names, (recipe_components, names)
    back = syft_convert(out / "bom.cdx.json", "cyclonedx-json")
    assert back["bomFormat"] == "CycloneDX"


def trivy(path):
    p = subprocess.run(
        [tool("trivy"), "sbom", "--debug", "--scanners", "license", "--offline-scan", "--format",
         "json", "--list-all-pkgs", "--cache-dir", str(path.parent / ".trivy"), str(path)],
        capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout), p.stderr


def test_trivy_reads_every_image(out, cdx):
    report, log = trivy(out / "bom.cdx.json")
    assert report["ArtifactType"] == "cyclonedx"
    assert 'Detected SBOM format\tformat="cyclonedx-json"' in log
    # Trivy 0.59 decodes each component's purl; `pkg:oci` has no package class in Trivy, so
    # every image is named in its decode log with type oci (and none is silently lost).
    for c in cdx["components"]:
        if c["type"] == "container":
            line = f'name="{c["name"]}" version="{c["version"]}" type="oci"'
            assert line in log, f"trivy did not decode {c['purl']}"


def test_trivy_reads_spdx(out, spdx):
    report, log = trivy(out / "bom.spdx.json")
    assert report["ArtifactType"] == "spdx"
    for p in spdx["packages"]:
        if p.get("primaryPackagePurpose") == "CONTAINER":
            assert f'name="{p["name"]}"' in log, f"trivy did not decode {p['name']}"


def test_cyclonedx_evidence_lines_open_at_the_reference(out, cdx):
    # `evidence.occurrences[].line` is the line of the reference in the file `location` names:
    # for the recipe's manifest files, opening the file at that line shows the image (a
    # triplet's line shows its first part). Chart templates are checked against the Helm
    # SDK's output-dir files in crates/imagebom-extract/tests/lines.rs.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    checked = 0
    for c in cdx["components"]:
        if c["type"] != "container":
            continue
        categories = {}
        for p in c.get("properties", []):
            if p["name"] == "imagebom:occurrence":
                _, source, obj, path, category = p["value"].split("|")
                categories[(source, f"{obj} at {path}")] = category
        for o in c.get("evidence", {}).get("occurrences", []):
            category = categories[(o["location"], o["additionalContext"])]
            if category in ("recipe", "declared"):
                assert "line" not in o, o
                continue
            assert isinstance(o.get("line"), int) and o["line"] >= 1, (c["name"], o)
            f = root / o["location"]
            if not f.is_file():
                continue  # a chart template
            text = f.read_text().splitlines()[o["line"] - 1]
            if category in ("cr-triplet", "cr-disabled"):
                assert any(k in text for k in ("repository:", "image:", "registry:", "version:", "tag:")), (o, text)
            elif category != "embedded":
                assert c["name"].rsplit("/", 1)[-1] in text, (c["name"], o, text)
            checked += 1
    assert checked >= 5, checked
