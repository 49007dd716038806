"""The CLI end to end: determinism, cross-format consistency, bad input."""
import json
import resource

from conftest import ROOT, run

OUTPUTS = ["bom.cdx.json", "bom.spdx.json", "inventory.md"]


def test_two_runs_are_byte_identical(tmp_path):
    for d in ("a", "b"):
        run(["generate", "--out", str(tmp_path / d)])
    for f in OUTPUTS:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(OUTPUTS)


def test_every_image_in_every_format(out, cdx, spdx, image_purls):
    spdx_purls = sorted(r["referenceLocator"] for p in spdx["packages"]
                        for r in p.get("externalRefs", []) if r["referenceType"] == "purl")
    assert spdx_purls == image_purls
    md = (out / "inventory.md").read_text()
    for c in cdx["components"]:
        if c["type"] == "container":
            normalized = next(p["value"] for p in c["properties"] if p["name"] == "imagebom:normalized")
            assert f"`{normalized}`" in md


def test_bundled_lock_pins_what_it_can(cdx):
    lock = json.loads((ROOT / "recipes" / "imagebom.lock").read_text())
    for c in cdx["components"]:
        if c["type"] != "container":
            continue
        key = next(p["value"] for p in c["properties"] if p["name"] == "imagebom:normalized")
        if key in lock["images"]:
            assert c["hashes"][0]["content"] == lock["images"][key]["digest"].split(":")[1]


def scratch(tmp_path, extra="", manifest="apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: busybox:1.37}\n"):
    (tmp_path / "m.yaml").write_text(manifest)
    (tmp_path / "recipe.yaml").write_text(
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
        "components:\n  - name: c\n    manifests: [m.yaml]\n" + extra)
    return tmp_path / "recipe.yaml"


def fails(recipe, needle, **kw):
    out = recipe.parent / "out"
    p = run(["generate", "--recipe", str(recipe), "--out", str(out)], check=False, **kw)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert needle in p.stderr, p.stderr
    assert not out.exists(), "outputs written on error"
    return p.stderr


def test_malformed_recipe(tmp_path):
    r = scratch(tmp_path)
    r.write_text(r.read_text() + "  - name: [broken\n")
    fails(r, "recipe.yaml:")


def test_unknown_recipe_field_names_line_and_field(tmp_path):
    err = fails(scratch(tmp_path, "    colour: blue\n"), "unknown field `colour`")
    assert "recipe.yaml:7:" in err, err


def test_missing_manifest(tmp_path):
    r = scratch(tmp_path)
    (tmp_path / "m.yaml").unlink()
    fails(r, "m.yaml")


def test_malformed_manifest_names_file_and_line(tmp_path):
    err = fails(scratch(tmp_path, manifest="kind: Pod\nmetadata:\n  name: [p\n"), "m.yaml:")


def test_invalid_reference_in_recipe(tmp_path):
    fails(scratch(tmp_path, "    images:\n      - {ref: 'Quay.io/Foo:1', reason: r}\n"), "images[0].ref")


def test_digest_with_63_hex_digits(tmp_path):
    ref = "busybox@sha256:" + "a" * 63
    fails(scratch(tmp_path, f"    images:\n      - {{ref: '{ref}', reason: r}}\n"), "digest")


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_alias_bomb_is_bounded(tmp_path):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:",
             "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]")
    fails(scratch(tmp_path, manifest="\n".join(lines) + "\n"), "m.yaml", timeout=20, preexec=limit_memory)


def test_images_command(tmp_path):
    stream = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
              "    - {name: a, image: nginx}\n    - {name: b, image: docker.io/library/nginx:latest}\n"
              "    - {name: c, image: 'quay.io/x/y:1'}\n")
    # One line per image (de-duplicated on the normalised form), printed as written: the
    # byte-wise smallest spelling, so the output does not depend on input order.
    p = run(["images", "-"], stdin=stream)
    assert p.stdout == "docker.io/library/nginx:latest\nquay.io/x/y:1\n"
    p = run(["images", "--normalize", "-"], stdin=stream)
    assert p.stdout == "docker.io/library/nginx:latest\nquay.io/x/y:1\n"
    doc = json.loads(run(["images", "--json", "-"], stdin=stream).stdout)
    assert len(doc["images"][0]["occurrences"]) == 2
