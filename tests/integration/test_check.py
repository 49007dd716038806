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
