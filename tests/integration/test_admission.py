"""The recipe's trust policy: `imagebom check` signature rules over the lock's verification
record, and `imagebom policy` admission policies checked against the real Kyverno and
policy-controller CRDs (their openAPIV3Schema, with python-jsonschema) and against the official
example policies' field names and shapes (../shared/policies)."""
import json
import subprocess

import jsonschema
import pytest
import yaml

from conftest import run, shared

D = {name: "sha256:" + (c * 64) for name, c in [("web", "a"), ("db", "b"), ("box", "c"), ("tool", "d")]}
GH = "https://token.actions.githubusercontent.com"
WEB_SUBJECT = "https://github.com/acme/web/.github/workflows/release.yml@refs/tags/v1.0.0"
BUILDER = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"


def key_id(pem_path) -> str:
    """The Sigstore key ID (SHA-256 of the SPKI DER), by openssl."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pem_path), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import hashlib
    return hashlib.sha256(der).hexdigest()


def fixture(tmp_path, verification):
    """A recipe with three components and a lock whose provenance carries `verification`
    (per image key: a list of verdicts, or None for never verified)."""
    key = shared("policies", "examples", "policy-controller", "examples", "cosign.pub")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "db.pub").write_text(key.read_text())
    images = {
        "web": f"ghcr.io/acme/web:1.0@{D['web']}",
        "db": f"docker.io/library/postgres:16@{D['db']}",
        "box": f"docker.io/library/busybox:1.37@{D['box']}",
        "tool": f"quay.io/legacy/tool:2@{D['tool']}",
    }
    for comp, imgs in [("web", ["web"]), ("db", ["db", "box"]), ("legacy", ["tool"])]:
        pods = "".join(f"    - {{name: c{i}, image: '{images[x]}'}}\n" for i, x in enumerate(imgs))
        (tmp_path / f"{comp}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {comp}}}\nspec:\n  containers:\n{pods}")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""apiVersion: imagebom.dev/v1alpha1
kind: Recipe
metadata: {{name: shop, version: '1.0'}}
components:
  - name: web
    manifests: [web.yaml]
    verify:
      identities:
        - {{issuer: '{GH}', subjectRegExp: '^https://github\\.com/acme/web/'}}
      provenance: {{builderId: '{BUILDER}'}}
  - name: db
    manifests: [db.yaml]
    verify:
      keys: [keys/db.pub]
    imagePolicies:
      - match: docker.io/library/busybox
        owner: platform-team
        admissionPolicy: {{kind: ClusterPolicy, name: busybox-allowlist}}
  - name: legacy
    manifests: [legacy.yaml]
""")
    lock = {"lockVersion": 1, "images": {}}
    for name, ref in images.items():
        prov = {"signature": True, "attestation": False, "sbom": False, "referrers": []}
        if verification.get(name) is not None:
            prov["verification"] = verification[name]
        lock["images"][ref] = {"digest": D[name], "source": "registry", "provenance": prov}
    (tmp_path / "imagebom.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return recipe, key


def verified_keyless(subject, issuer=GH):
    return {"kind": "signature", "source": "referrer", "verdict": "verified",
            "subject": subject, "issuer": issuer}


def findings(tmp_path, recipe, *extra):
    p = run(["check", "--recipe", str(recipe), *extra], check=False)
    assert p.returncode in (0, 1), p.stderr
    return p


def test_check_trusted_untrusted_failed_unknown(tmp_path):
    other_key = "0" * 64
    recipe, _ = fixture(tmp_path, {
        "web": [verified_keyless(WEB_SUBJECT)],
        "db": [{"kind": "signature", "source": "tag", "verdict": "verified", "keyId": other_key},
               {"kind": "attestation", "source": "tag", "verdict": "unverified",
                "predicateType": "https://slsa.dev/provenance/v1", "reason": "signature does not verify"}],
        "box": [],
        "tool": None,
    })
    p = findings(tmp_path, recipe)
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    db = f"{tmp_path}/db.yaml:6"
    assert f"{db}: error[signature-verified]: docker.io/library/postgres:16@{D['db']} (component \"db\"): signed by key {other_key}, which the recipe does not trust" in lines, lines
    assert any(l.startswith(f"{db}: error[signature-verified]:") and "attestation (tag) failed verification: signature does not verify" in l for l in lines), lines
    assert any("warning[signature-covered]: quay.io/legacy/tool:2" in l and "signature status unknown (never verified)" in l for l in lines), lines
    # db has no trusted signature and no owner: a coverage gap too.
    assert any("warning[signature-covered]: docker.io/library/postgres" in l for l in lines), lines
    # web is verified by a trusted identity; busybox has an owner and an admission policy.
    assert not any("ghcr.io/acme/web" in l or "busybox" in l for l in lines), lines

    sarif = json.loads(run(["check", "--recipe", str(recipe), "--format", "sarif"], check=False).stdout)
    results = {(r["ruleId"], r["level"]) for r in sarif["runs"][0]["results"]}
    assert results == {("signature-verified", "error"), ("signature-covered", "warning")}, results
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"signature-verified", "signature-covered"} <= rules


def test_check_unknown_is_reported_never_passed(tmp_path):
    recipe, _ = fixture(tmp_path, {})
    p = findings(tmp_path, recipe)
    out = p.stdout
    assert "ghcr.io/acme/web:1.0" in out and "never verified" in out, out
    assert "warning[signature-verified]" in out and "error[signature-verified]" not in out, out
    # The keyed component without record is unknown too; the owner-covered busybox is not a gap.
    assert "busybox" not in out, out
    # Turned off in the policy file, the rule says nothing.
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: {signature-verified: off, signature-covered: off}\n")
    assert findings(tmp_path, recipe, "--policy", str(policy)).stdout == ""


def test_recipe_without_trust_policy_is_unchanged(tmp_path):
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                                      f"    - {{name: c, image: 'ghcr.io/acme/web:1.0@{D['web']}'}}\n")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n")
    p = run(["check", "--recipe", str(r)])
    assert p.stdout == "", p.stdout


@pytest.mark.parametrize("body, where, what", [
    ("    verify: {identities: [{issuer: x, subjectRegExp: '(unclosed'}]}\n",
     "components[0].verify.identities[0].subjectRegExp (component \"c\")", "regular expression"),
    ("    verify: {keys: [nowhere.pub]}\n", "components[0].verify.keys[0] (component \"c\")", "cannot read key"),
    ("    verify: {keys: [priv.pem]}\n", "components[0].verify.keys[0] (component \"c\")", "private key"),
    ("    verify: {keys: [junk.pub]}\n", "components[0].verify.keys[0] (component \"c\")", "not a usable public key"),
    ("    verify: {identities: [{subject: x}]}\n", "components[0].verify.identities[0] (component \"c\")", "`issuer` or `issuerRegExp`"),
    ("    verify: {identities: [{issuer: x, subject: y, subjectRegExp: z}]}\n", "identities[0]", "not both"),
    ("    verify: {identities: [{issuer: x, subject: y, who: z}]}\n", "", "unknown field `who`"),
])
def test_bad_trust_policy_names_recipe_and_component(tmp_path, body, where, what):
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                                      "    - {name: c, image: 'busybox:1'}\n")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(tmp_path / "priv.pem")], check=True)
    (tmp_path / "junk.pub").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n" + body)
    p = run(["check", "--recipe", str(r)], check=False)
    assert p.returncode == 2, p.stderr
    assert f"{r}:" in p.stderr and where in p.stderr and what in p.stderr, p.stderr
    assert "PRIVATE" not in p.stderr and "panicked" not in p.stderr


# --- admission policies -------------------------------------------------------------------

CRDS = {
    ("kyverno.io/v1", "ClusterPolicy"): ("kyverno", "kyverno.io_clusterpolicies.yaml"),
    ("policy.sigstore.dev/v1beta1", "ClusterImagePolicy"): ("policy-controller", "300-clusterimagepolicy.yaml"),
}


def crd_schema(api_version, kind):
    folder, name = CRDS[(api_version, kind)]
    crd = yaml.safe_load(shared("policies", "crds", folder, name).read_text())
    version = api_version.split("/")[1]
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            assert v["served"], f"{api_version} {kind} is not served"
            return v["schema"]["openAPIV3Schema"]
    raise AssertionError(f"{api_version} not in {name}")


def pruned(doc, schema, path=""):
    """Fields the API server would prune: not declared by the structural schema (the root's
    apiVersion, kind and metadata are always kept)."""
    out = []
    if isinstance(doc, dict) and schema.get("type") == "object":
        props = schema.get("properties")
        if props is None or schema.get("x-kubernetes-preserve-unknown-fields"):
            return out
        for k, v in doc.items():
            if path == "" and k in ("apiVersion", "kind", "metadata"):
                continue
            if k not in props:
                out.append(f"{path}.{k}")
            else:
                out += pruned(v, props[k], f"{path}.{k}")
    elif isinstance(doc, list) and "items" in schema:
        for i, v in enumerate(doc):
            out += pruned(v, schema["items"], f"{path}[{i}]")
    return out


def shapes(doc, path=""):
    """Every key path (lists collapsed to []) of a document, with the JSON type at it. Kyverno's
    attestor sets have one type wherever they sit (an image's, an attestation's): one path."""
    out = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            path_k = f"{path}.{k}".replace(".attestations[].attestors", ".attestors")
            out.add((path_k, type(v).__name__))
            out |= shapes(v, path_k)
    elif isinstance(doc, list):
        for v in doc:
            out |= shapes(v, f"{path}[]")
    return out


def examples(kind):
    index = json.loads(shared("policies", "INDEX.json").read_text())
    docs = []
    for d in index["documents"]:
        if d["kind"] == kind and d.get("crd"):
            for doc in yaml.safe_load_all(shared("policies", d["file"]).read_text()):
                if doc and doc.get("kind") == kind:
                    docs.append(doc)
    assert docs, f"no {kind} examples"
    return docs


def policy(tmp_path, recipe, fmt):
    p = run(["policy", "--recipe", str(recipe), "--format", fmt])
    again = run(["policy", "--recipe", str(recipe), "--format", fmt])
    assert p.stdout == again.stdout, "not byte-identical"
    return p.stdout, [d for d in yaml.safe_load_all(p.stdout) if d]


def validate(docs):
    for doc in docs:
        schema = crd_schema(doc["apiVersion"], doc["kind"])
        jsonschema.Draft7Validator(schema).validate(doc)
        assert pruned(doc, schema) == [], pruned(doc, schema)


def test_kyverno_policy_validates_and_matches_examples(tmp_path):
    recipe, key = fixture(tmp_path, {})
    text, docs = policy(tmp_path, recipe, "kyverno")
    assert len(docs) == 1
    validate(docs)
    pol = docs[0]
    assert (pol["apiVersion"], pol["kind"], pol["metadata"]["name"]) == ("kyverno.io/v1", "ClusterPolicy", "imagebom-shop")
    rules = {r["name"]: r for r in pol["spec"]["rules"]}
    assert set(rules) == {"verify-web", "verify-db"}
    web = rules["verify-web"]["verifyImages"][0]
    assert web["imageReferences"] == ["ghcr.io/acme/web:*", "ghcr.io/acme/web@*"]
    assert (web["verifyDigest"], web["mutateDigest"], web["required"], web["failureAction"]) == (True, True, True, "Enforce")
    keyless = web["attestors"][0]["entries"][0]["keyless"]
    assert keyless == {"subjectRegExp": "^https://github\\.com/acme/web/", "issuer": GH,
                       "rekor": {"url": "https://rekor.sigstore.dev"}}
    att = web["attestations"][0]
    assert att["type"] == "https://slsa.dev/provenance/v1"
    assert att["conditions"][0]["all"][0] == {"key": "{{ runDetails.builder.id }}", "operator": "Equals", "value": BUILDER}
    db = rules["verify-db"]["verifyImages"][0]
    assert db["imageReferences"] == ["docker.io/library/postgres:*", "docker.io/library/postgres@*",
                                     "docker.io/postgres:*", "docker.io/postgres@*"]
    assert db["attestors"][0]["entries"][0]["keys"]["publicKeys"].split() == key.read_text().split()
    # Not enforced, with their reasons: the owner-covered busybox and the legacy tool.
    note = pol["metadata"]["annotations"]["imagebom.dev/not-enforced"]
    assert "docker.io/library/busybox:1.37@" in note and "owner platform-team; covered by ClusterPolicy busybox-allowlist" in note
    assert "quay.io/legacy/tool:2@" in note and "no trusted signer in the recipe" in note
    assert "#   quay.io/legacy/tool:2@" in text
    # Every field path and type we write is one the official examples use.
    known = set().union(*(shapes(e) for e in examples("ClusterPolicy")))
    ours = {s for s in shapes(pol) if not s[0].startswith(".metadata.annotations")}  # ObjectMeta
    assert ours - known == set(), sorted(ours - known)


def test_policy_controller_policy_validates_and_matches_examples(tmp_path):
    recipe, key = fixture(tmp_path, {})
    _, docs = policy(tmp_path, recipe, "policy-controller")
    assert [d["metadata"]["name"] for d in docs] == ["imagebom-shop-verify-web-1", "imagebom-shop-verify-db-2"]
    validate(docs)
    web, db = docs
    assert web["apiVersion"] == "policy.sigstore.dev/v1beta1"
    assert web["spec"]["images"] == [{"glob": "ghcr.io/acme/web:**"}, {"glob": "ghcr.io/acme/web*sha256:**"}]
    auth = web["spec"]["authorities"][0]
    assert auth["keyless"]["identities"] == [{"issuer": GH, "subjectRegExp": "^https://github\\.com/acme/web/"}]
    assert auth["ctlog"] == {"url": "https://rekor.sigstore.dev"}
    assert auth["attestations"][0]["predicateType"] == "https://slsa.dev/provenance/v1"
    assert BUILDER in auth["attestations"][0]["policy"]["data"]
    assert db["spec"]["images"][0] == {"glob": "index.docker.io/library/postgres:**"}
    assert db["spec"]["authorities"][0]["key"]["data"].split() == key.read_text().split()
    known = set().union(*(shapes(e) for e in examples("ClusterImagePolicy")))
    for d in docs:
        ours = {s for s in shapes(d) if not s[0].startswith(".metadata.annotations")}  # ObjectMeta
        assert ours - known == set(), sorted(ours - known)


def test_policy_globs_match_as_policy_controller_does(tmp_path):
    """policy-controller's glob: `*` is `[^/]*`, `**` is `.*`, matched against the full reference."""
    import re
    recipe, _ = fixture(tmp_path, {})
    _, docs = policy(tmp_path, recipe, "policy-controller")

    def match(glob, image):
        rx = glob.replace(".", r"\.").replace("**", "#").replace("*", "[^/]*").replace("#", ".*")
        return re.fullmatch(rx, image) is not None

    globs = [i["glob"] for i in docs[0]["spec"]["images"]]
    assert any(match(g, "ghcr.io/acme/web:1.0") for g in globs)
    assert any(match(g, f"ghcr.io/acme/web@{D['web']}") for g in globs)
    assert not any(match(g, "ghcr.io/acme/webhook/x:1") for g in globs)
    assert not any(match(g, "ghcr.io/other/web:1") for g in globs)


def test_policy_key_id_is_openssls(tmp_path):
    """The recipe's key reaches the lock-side matching as openssl's SPKI SHA-256."""
    recipe, key = fixture(tmp_path, {"db": [{"kind": "signature", "source": "tag", "verdict": "verified",
                                             "keyId": None}]})
    lock = json.loads((tmp_path / "imagebom.lock").read_text())
    ref = f"docker.io/library/postgres:16@{D['db']}"
    lock["images"][ref]["provenance"]["verification"][0]["keyId"] = key_id(key)
    (tmp_path / "imagebom.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    out = findings(tmp_path, recipe).stdout
    assert "postgres" not in out, out


def test_nothing_to_enforce_is_exit_2(tmp_path):
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                                      "    - {name: c, image: 'busybox:1'}\n")
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 "components:\n  - name: c\n    manifests: [m.yaml]\n    owner: ops\n")
    p = run(["policy", "--recipe", str(r), "--format", "kyverno"], check=False)
    assert p.returncode == 2 and "nothing to enforce" in p.stderr and str(r) in p.stderr, p.stderr


def test_policy_name_audit_and_out(tmp_path):
    recipe, _ = fixture(tmp_path, {})
    out = tmp_path / "policy.yaml"
    run(["policy", "--recipe", str(recipe), "--format", "kyverno", "--name", "Shop.Images", "--audit",
         "--out", str(out)])
    doc = yaml.safe_load(out.read_text())
    assert doc["metadata"]["name"] == "shop-images"
    assert {r["verifyImages"][0]["failureAction"] for r in doc["spec"]["rules"]} == {"Audit"}
    validate([doc])
    p = run(["policy", "--recipe", str(recipe), "--format", "kyverno", "--name", "..."], check=False)
    assert p.returncode == 2 and "a policy name needs a letter or digit" in p.stderr, p.stderr
