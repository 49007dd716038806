"""Release gates: `imagebom check`."""
import json

from conftest import run


def scratch(tmp_path, images, extra=""):
    pods = "".join(f"    - {{name: c{i}, image: '{img}'}}\n" for i, img in enumerate(images))
    (tmp_path / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n" + extra)
    return r


PINNED = "registry.k8s.io/pause:3.10@sha256:" + "a" * 64


def test_clean_recipe_passes(tmp_path):
    p = run(["check", "--recipe", str(scratch(tmp_path, [PINNED]))])
    assert p.stdout == "" and "0 error(s)" in p.stderr


def test_findings_name_file_and_line_and_exit_1(tmp_path):
    r = scratch(tmp_path, [PINNED, "busybox", "quay.io/x/y:1"],
                "exemptions:\n  - {ref: 'quay.io/gone/img:1', reason: old, tracking: 'https://t/1'}\n")
    p = run(["check", "--recipe", str(r)], check=False)
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert f"{tmp_path}/m.yaml:7: error[digest-pinned]: busybox is not pinned by a sha256 digest and has no exemption" in lines
    assert f"{tmp_path}/m.yaml:7: error[no-tag-or-digest]: busybox has neither tag nor digest (implicitly latest)" in lines
    assert any(l.startswith(f"{tmp_path}/recipe.yaml:8: warning[stale-exemption]") for l in lines), lines


def test_exemption_and_policy_file(tmp_path):
    r = scratch(tmp_path, [PINNED, "quay.io/x/y:latest"],
                "exemptions:\n  - {ref: 'quay.io/x/y', reason: vendor build, tracking: 'https://t/2'}\n")
    assert run(["check", "--recipe", str(r)]).returncode == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: {latest-tag: error}\nallowedRegistries: [registry.k8s.io]\n")
    p = run(["check", "--recipe", str(r), "--policy", str(policy), "--format", "sarif"], check=False)
    assert p.returncode == 1
    sarif = json.loads(p.stdout)
    assert sarif["version"] == "2.1.0"
    results = {(x["ruleId"], x["level"]) for x in sarif["runs"][0]["results"]}
    assert results == {("latest-tag", "error"), ("registry-allowlist", "error")}
    rules = {x["id"] for x in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {x["ruleId"] for x in sarif["runs"][0]["results"]} <= rules
    loc = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("m.yaml") and loc["region"]["startLine"] == 7


def test_bad_policy_is_exit_2(tmp_path):
    r = scratch(tmp_path, [PINNED])
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: {no-such-rule: error}\n")
    p = run(["check", "--recipe", str(r), "--policy", str(policy)], check=False)
    assert p.returncode == 2 and "policy.yaml:1:" in p.stderr, p.stderr


def test_page_region_update_and_freshness_gate(tmp_path):
    r = scratch(tmp_path, [PINNED])
    page = tmp_path / "images.md"
    page.write_text("# Our images\n\nHand-written intro.\n\n<!-- imagebom:begin (generated; do not edit by hand) -->\n"
                    "stale\n<!-- imagebom:end -->\n\nHand-written outro.\n")
    p = run(["generate", "--recipe", str(r), "--check", "--page", str(page)], check=False)
    assert p.returncode == 1 and "-stale" in p.stdout, p.stdout
    run(["generate", "--recipe", str(r), "--out", str(tmp_path / "out"), "--page", str(page)])
    text = page.read_text()
    assert text.startswith("# Our images\n\nHand-written intro.\n") and text.endswith("Hand-written outro.\n")
    assert "`registry.k8s.io/pause:3.10@sha256:" in text and "stale" not in text
    run(["lock", "--recipe", str(r)])
    assert run(["generate", "--recipe", str(r), "--check", "--page", str(page)]).returncode == 0
    # A new image makes both the page and the lock stale.
    r = scratch(tmp_path, [PINNED, "quay.io/new/img:1@sha256:" + "b" * 64])
    p = run(["generate", "--recipe", str(r), "--check", "--page", str(page)], check=False)
    assert p.returncode == 1
    assert "imagebom.lock (committed)" in p.stdout and "images.md (committed)" in p.stdout
    assert "+| `quay.io/new/img:1@sha256:" in p.stdout
    page.write_text("no markers here\n")
    p = run(["generate", "--recipe", str(r), "--page", str(page), "--out", str(tmp_path / "o2")], check=False)
    assert p.returncode == 2 and "no generated region" in p.stderr
