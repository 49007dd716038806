"""Registry faults: retried and correct, or a clear failure — never a wrong digest."""
import hashlib
import json
import os
import time

import pytest

from faults import ChartRepo, FaultProxy, RealmRegistry, Trickle
from test_registry import filled, private, recipe  # noqa: F401  (module fixtures)
from conftest import run
from registry import docker_config


def resolve(tmp_path, proxy, repo_tag, *extra):
    r = recipe(tmp_path, [f"{proxy.host}/{repo_tag}"])
    return run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", proxy.host,
                "--timeout", "1", *extra], check=False, timeout=120), tmp_path / "imagebom.lock"


@pytest.mark.parametrize("faults", [["503", "503", "503"], ["429"], ["truncate"], ["stall"],
                                    ["truncate", "503", "429"]])
def test_transient_faults_are_retried_to_the_right_digest(filled, tmp_path, faults):  # noqa: F811
    proxy = FaultProxy(filled.host, {"team/app": faults})
    try:
        start = time.monotonic()
        p, lock = resolve(tmp_path, proxy, "team/app:multi")
        assert p.returncode == 0, p.stderr
        if "429" in faults:
            assert time.monotonic() - start >= 1.0, "Retry-After: 1 was not honoured"
        want = "sha256:" + hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
        assert json.loads(lock.read_text())["images"][f"{proxy.host}/team/app:multi"]["digest"] == want
        assert proxy.counts["team/app"] == len(faults) + 1
    finally:
        proxy.stop()


def test_lying_digest_is_refused(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {"team/app": ["lie", "*"]})
    try:
        p, lock = resolve(tmp_path, proxy, "team/app:multi")
        assert p.returncode == 3, p.stderr
        assert "team/app:multi" in p.stderr and "digest" in p.stderr.lower(), p.stderr
        assert not lock.exists()
    finally:
        proxy.stop()


def test_persistent_503_gives_up_with_a_clear_error(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {"team/app": ["503", "*"]})
    try:
        p, lock = resolve(tmp_path, proxy, "team/app:multi", "--retries", "2")
        assert p.returncode == 3, p.stderr
        assert "team/app:multi: registry request failed" in p.stderr, p.stderr
        assert proxy.counts["team/app"] == 3
        assert not lock.exists()
    finally:
        proxy.stop()


def test_anonymous_bearer_token_flow(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {}, bearer=True)
    try:
        refs = [f"{proxy.host}/team/app:multi", f"{proxy.host}/team/single:single"]
        r = recipe(tmp_path, refs)
        p = run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", proxy.host], check=False)
        assert p.returncode == 0, p.stderr
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        want = "sha256:" + hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
        assert lock[refs[0]]["digest"] == want
        assert proxy.token_requests, "the token endpoint was never asked"
        assert all("service=imagebom-test" in t for t in proxy.token_requests), proxy.token_requests
        # One token per repository scope, cached across requests.
        assert len(proxy.token_requests) <= len(refs), proxy.token_requests
        assert "t0k3n" not in p.stderr
    finally:
        proxy.stop()


def test_cache_saves_requests_until_refresh_or_expiry(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {})
    try:
        ref = "team/app:multi"
        cache = ["--cache-dir", str(tmp_path / "cache")]
        p, lock = resolve(tmp_path, proxy, ref, *cache)
        assert p.returncode == 0, p.stderr
        assert proxy.counts["team/app"] == 1
        lock.unlink()
        p, lock = resolve(tmp_path, proxy, ref, *cache)
        assert p.returncode == 0 and lock.exists(), p.stderr
        assert proxy.counts["team/app"] == 1, "a fresh cache entry must not ask the registry"
        lock.unlink()
        p, _ = resolve(tmp_path, proxy, ref, *cache, "--cache-ttl", "0")
        assert proxy.counts["team/app"] == 2
        p, _ = resolve(tmp_path, proxy, ref, *cache, "--refresh")
        assert proxy.counts["team/app"] == 3
    finally:
        proxy.stop()


@pytest.mark.parametrize("faults", [["429"], ["503", "429"]])
def test_retry_after_is_honoured_on_a_token_registry(filled, tmp_path, faults):  # noqa: F811
    proxy = FaultProxy(filled.host, {"team/app": faults}, bearer=True)
    try:
        start = time.monotonic()
        p, lock = resolve(tmp_path, proxy, "team/app:multi")
        assert p.returncode == 0, p.stderr
        # Backoff alone would wait at most 0.25 s + 0.5 s: only Retry-After: 1 waits a second.
        assert time.monotonic() - start >= 1.0, "Retry-After: 1 was not honoured"
        want = "sha256:" + hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
        assert json.loads(lock.read_text())["images"][f"{proxy.host}/team/app:multi"]["digest"] == want
        assert proxy.counts["team/app"] == len(faults) + 1
        assert len(proxy.token_requests) == 1, proxy.token_requests
    finally:
        proxy.stop()


def test_retry_after_is_honoured_on_the_token_endpoint(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {"token": ["429"]}, bearer=True)
    try:
        start = time.monotonic()
        p, lock = resolve(tmp_path, proxy, "team/app:multi")
        assert p.returncode == 0, p.stderr
        assert time.monotonic() - start >= 1.0, "Retry-After: 1 was not honoured"
        assert len(proxy.token_requests) == 2, proxy.token_requests
        assert proxy.counts["team/app"] == 1
    finally:
        proxy.stop()


def test_token_registry_costs_one_request_per_image(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {}, bearer=True)
    try:
        refs = ["team/app:multi", "team/single:single", "team/list:list"]
        r = recipe(tmp_path, [f"{proxy.host}/{x}" for x in refs])
        p = run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", proxy.host], check=False)
        assert p.returncode == 0, p.stderr
        # One /v2/ probe (its challenge is remembered), one token per repository scope, then
        # exactly one authenticated GET per image: no 401 round trips.
        assert len(proxy.token_requests) == len(refs), proxy.token_requests
        assert proxy.requests == 1 + 2 * len(refs), proxy.requests
        assert "t0k3n" not in p.stdout + p.stderr
    finally:
        proxy.stop()


@pytest.mark.parametrize("faults", [["429"], ["503", "429"]])
def test_retry_after_is_honoured_on_a_basic_auth_registry(private, tmp_path, faults):  # noqa: F811
    proxy = FaultProxy(private.host, {"private/app": faults})
    try:
        cfg = docker_config(tmp_path / "docker", proxy.host, "ci", "h3lper-pass")
        ref = f"{proxy.host}/private/app:v1"
        r = recipe(tmp_path, [ref])
        start = time.monotonic()
        p = run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", proxy.host,
                 "--timeout", "5", "-vv"], check=False, env=dict(os.environ, DOCKER_CONFIG=str(cfg)))
        assert p.returncode == 0, p.stderr
        assert time.monotonic() - start >= 1.0, "Retry-After: 1 was not honoured"
        assert "h3lper-pass" not in p.stdout + p.stderr
        lock = json.loads((tmp_path / "imagebom.lock").read_text())["images"]
        assert lock[ref]["digest"] == "sha256:" + hashlib.sha256(private.raw("private/app:v1")).hexdigest()
        # Basic credentials go with every request: no 401 round trip per image.
        assert proxy.counts["private/app"] == len(faults) + 1
        assert proxy.requests == 1 + len(faults) + 1, proxy.requests
    finally:
        proxy.stop()


def test_no_ca_certificates_is_an_error_not_a_panic(tmp_path):
    """A system without CA certificates (a scratch image without a bundle): exit 3, a clear
    error, no panic, no lock."""
    r = recipe(tmp_path, ["registry.example.invalid/team/app:v1"])
    env = dict(os.environ, SSL_CERT_FILE=str(tmp_path / "none.pem"), SSL_CERT_DIR=str(tmp_path / "none"))
    p = run(["lock", "--resolve", "--recipe", str(r), "--retries", "0"], check=False, env=env)
    assert p.returncode == 3, p.stderr
    assert "CA certificates" in p.stderr and "panicked" not in p.stderr, p.stderr
    assert not (tmp_path / "imagebom.lock").exists()


PINNED = "busybox@sha256:" + "ab" * 32


def chart_recipe(tmp_path, repository):
    r = tmp_path / "recipe.yaml"
    r.write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\n"
                 f"components:\n  - name: c\n    helm: {{repository: '{repository}', chart: app, version: 1.0.0}}\n")
    return r


def test_chart_repository_credentials_never_reach_an_output(tmp_path):
    """Userinfo in `helm.repository` is used for the download and appears in no output."""
    repo = ChartRepo(PINNED, auth=("bot", "T0KEN-s3cret"))
    try:
        r = chart_recipe(tmp_path, f"http://bot:T0KEN-s3cret@{repo.host}/")
        out = tmp_path / "dist"
        page = tmp_path / "page.md"
        page.write_text("<!-- imagebom:begin (generated; do not edit by hand) -->\n<!-- imagebom:end -->\n")
        p = run(["generate", "--recipe", str(r), "--out", str(out), "--chart-cache", str(tmp_path / "c"),
                 "--page", str(page), "-vvv"], check=False)
        assert p.returncode == 0, p.stderr
        assert all(a == repo.want for _, a in repo.seen), "the download did not use the URL's credentials"
        texts = {f.name: f.read_text() for f in out.iterdir()}
        texts["page"] = page.read_text()
        texts["lock"] = (tmp_path / "imagebom.lock").read_text() if (tmp_path / "imagebom.lock").exists() else ""
        assert set(texts) >= {"bom.cdx.json", "bom.spdx.json", "inventory.md"}, texts.keys()
        for name, text in [*texts.items(), ("stderr", p.stderr), ("stdout", p.stdout)]:
            assert "T0KEN" not in text, name
        cdx = json.loads(texts["bom.cdx.json"])
        props = {x["name"]: x["value"] for c in cdx["components"] for x in c.get("properties", [])}
        assert props["imagebom:chart-repository"] == f"http://{repo.host}/"
        spdx = json.loads(texts["bom.spdx.json"])
        # The chart package names the archive it was rendered from, without the credentials (an
        # IP-address URL is not an SPDX downloadLocation the SPDX tools accept: NOASSERTION).
        [chart] = [x for x in spdx["packages"] if x.get("comment", "").startswith("Helm chart ")]
        assert f"rendered from http://{repo.host}/" in chart["comment"], chart
        assert chart["downloadLocation"] == "NOASSERTION", chart
    finally:
        repo.stop()


@pytest.mark.parametrize("source", ["docker-config", "helm-repositories"])
def test_chart_repository_credentials_from_a_config_file(tmp_path, source):
    """A repository URL without credentials takes them from the Docker config (by host) or
    from Helm's repositories.yaml (by URL), and only sends them to the repository's host."""
    repo = ChartRepo(PINNED, auth=("bot", "h3lm-pass"))
    try:
        env = dict(os.environ, HELM_REPOSITORY_CONFIG=str(tmp_path / "none.yaml"),
                   DOCKER_CONFIG=str(tmp_path / "no-docker"))
        if source == "docker-config":
            env["DOCKER_CONFIG"] = str(docker_config(tmp_path / "docker", repo.host, "bot", "h3lm-pass"))
        else:
            (tmp_path / "repos.yaml").write_text(
                f"apiVersion: ''\nrepositories:\n- name: r\n  url: {repo.url}\n  username: bot\n  password: h3lm-pass\n")
            env["HELM_REPOSITORY_CONFIG"] = str(tmp_path / "repos.yaml")
        r = chart_recipe(tmp_path, repo.url)
        p = run(["lock", "--recipe", str(r), "--chart-cache", str(tmp_path / "c"), "-vvv"], check=False, env=env)
        assert p.returncode == 0, p.stderr
        assert [a for _, a in repo.seen] == [repo.want, repo.want], repo.seen
        assert "h3lm-pass" not in p.stdout + p.stderr
    finally:
        repo.stop()


def test_a_trickling_registry_is_cut_off_at_the_deadline(tmp_path):
    """--timeout bounds each request as a whole: a server sending a byte a second is cut off."""
    server = Trickle()
    try:
        r = recipe(tmp_path, [f"{server.host}/team/app:v1"])
        start = time.monotonic()
        p = run(["lock", "--resolve", "--recipe", str(r), "--insecure-registry", server.host,
                 "--timeout", "2", "--retries", "0"], check=False, timeout=30)
        took = time.monotonic() - start
        assert p.returncode == 3, p.stderr
        assert took < 10, f"took {took:.1f} s"
        assert f"{server.host}/team/app:v1" in p.stderr and "--timeout deadline" in p.stderr, p.stderr
        assert not (tmp_path / "imagebom.lock").exists()
    finally:
        server.stop()


def test_a_trickling_chart_repository_is_cut_off_at_the_deadline(tmp_path):
    """Chart downloads take --timeout and --retries too."""
    repo = ChartRepo(PINNED, trickle=1.0)
    try:
        r = chart_recipe(tmp_path, repo.url)
        start = time.monotonic()
        p = run(["lock", "--recipe", str(r), "--chart-cache", str(tmp_path / "c"),
                 "--timeout", "2", "--retries", "1"], check=False, timeout=30)
        took = time.monotonic() - start
        assert p.returncode == 3, p.stderr
        assert took < 12, f"took {took:.1f} s"
        assert f"{repo.url}/index.yaml" in p.stderr and "--timeout deadline" in p.stderr, p.stderr
        assert len([s for s, _ in repo.seen if s == "/index.yaml"]) == 2, repo.seen
    finally:
        repo.stop()


def test_no_credentials_go_to_a_plain_http_realm_of_an_https_registry(tmp_path):
    reg = RealmRegistry(tmp_path / "tls")
    try:
        cfg = docker_config(tmp_path / "docker", reg.host, "ci", "n0t-in-clear")
        env = dict(os.environ, DOCKER_CONFIG=str(cfg), SSL_CERT_FILE=str(reg.ca))
        ref = f"{reg.host}/team/app:v1"
        r = recipe(tmp_path, [ref])
        p = run(["lock", "--resolve", "--recipe", str(r), "--retries", "0", "--timeout", "5"],
                check=False, env=env)
        assert p.returncode == 3, p.stderr
        assert ref in p.stderr and "plain-HTTP token realm" in p.stderr, p.stderr
        assert reg.token_auth == [], "the realm was asked (with the credentials in clear text)"
        # Named with --insecure-registry, the realm is used.
        p = run(["lock", "--resolve", "--recipe", str(r), "--retries", "0", "--timeout", "5",
                 "--insecure-registry", reg.realm_host], check=False, env=env)
        assert p.returncode == 0, p.stderr
        assert len(reg.token_auth) == 1 and reg.token_auth[0].startswith("Basic "), reg.token_auth
    finally:
        reg.stop()


def test_no_credentials_go_to_a_plain_http_realm_for_an_oci_chart(tmp_path):
    """The chart fetcher follows the same rule (its OCI client follows challenges itself)."""
    reg = RealmRegistry(tmp_path / "tls")
    try:
        cfg = docker_config(tmp_path / "docker", reg.host, "ci", "n0t-in-clear")
        env = dict(os.environ, DOCKER_CONFIG=str(cfg), SSL_CERT_FILE=str(reg.ca))
        p = run(["render", f"oci://{reg.host}/charts/app", "--version", "1.0.0", "--retries", "0",
                 "--chart-cache", str(tmp_path / "c")], check=False, env=env)
        assert p.returncode == 3, p.stderr
        assert "plain-HTTP token realm" in p.stderr and "n0t-in-clear" not in p.stderr, p.stderr
        assert reg.token_auth == [], "the realm was asked (with the credentials in clear text)"
    finally:
        reg.stop()


def test_a_sha512_content_digest_is_verified_with_sha512(filled, tmp_path):  # noqa: F811
    proxy = FaultProxy(filled.host, {"team/app": ["sha512"]})
    try:
        p, lock = resolve(tmp_path, proxy, "team/app:multi", "--retries", "0")
        assert p.returncode == 0, p.stderr
        want = "sha256:" + hashlib.sha256(filled.raw("team/app:multi")).hexdigest()
        assert json.loads(lock.read_text())["images"][f"{proxy.host}/team/app:multi"]["digest"] == want
    finally:
        proxy.stop()


def test_a_cached_answer_contradicting_the_pin_is_not_locked(filled, tmp_path):  # noqa: F811
    digest = "sha256:" + hashlib.sha256(filled.raw("team/single:single")).hexdigest()
    ref = f"{filled.host}/team/single@{digest}"
    cache = tmp_path / "cache"
    r = recipe(tmp_path, [ref])
    args = ["lock", "--resolve", "--recipe", str(r), "--insecure-registry", filled.host, "--cache-dir", str(cache)]
    run(args)
    (entry,) = cache.glob("*.json")
    doc = json.loads(entry.read_text())
    doc["resolution"]["digest"] = "sha256:" + "0" * 64
    entry.write_text(json.dumps(doc))
    (tmp_path / "imagebom.lock").unlink()
    p = run(args, check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "imagebom.lock").read_text())["images"][ref]["digest"] == digest
    run(["lock", "--recipe", str(r)])


def test_lock_counts_unresolved_after_resolving(filled, tmp_path):  # noqa: F811
    r = recipe(tmp_path, [f"{filled.host}/team/app:multi"])
    p = run(["lock", "--resolve", "--refresh", "--recipe", str(r), "--insecure-registry", filled.host])
    assert "0 image(s) unresolved" in p.stderr, p.stderr


def test_a_broken_docker_config_or_failing_helper_is_named(filled, tmp_path):  # noqa: F811
    """Said on stderr without -v (naming the file or helper, never the helper's output)."""
    r = recipe(tmp_path, [f"{filled.host}/team/app:multi"])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"auths": {')
    p = run(["lock", "--resolve", "--refresh", "--recipe", str(r), "--insecure-registry", filled.host],
            env=dict(os.environ, DOCKER_CONFIG=str(broken)))
    assert str(broken / "config.json") in p.stderr and "not a valid Docker config" in p.stderr, p.stderr
    helper = tmp_path / "bin" / "docker-credential-imagebom-fails"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\ncat >/dev/null\necho 'helper-s3cret on stdout'\necho 'helper-s3cret on stderr' >&2\nexit 1\n")
    helper.chmod(0o755)
    store = tmp_path / "store"
    store.mkdir()
    (store / "config.json").write_text(json.dumps({"credsStore": "imagebom-fails"}))
    env = dict(os.environ, DOCKER_CONFIG=str(store), PATH=f"{helper.parent}:{os.environ['PATH']}")
    p = run(["lock", "--resolve", "--refresh", "--recipe", str(r), "--insecure-registry", filled.host], env=env)
    assert "docker-credential-imagebom-fails" in p.stderr and "failed" in p.stderr, p.stderr
    assert "helper-s3cret" not in p.stderr + p.stdout
    # A helper that holds nothing for the registry says so as the protocol asks: no warning.
    helper.write_text("#!/bin/sh\ncat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n")
    p = run(["lock", "--resolve", "--refresh", "--recipe", str(r), "--insecure-registry", filled.host], env=env)
    assert "WARN" not in p.stderr and "imagebom-fails" not in p.stderr, p.stderr


def test_a_failed_chart_download_says_its_cause_once(tmp_path):
    from registry import free_port
    r = chart_recipe(tmp_path, f"http://127.0.0.1:{free_port()}/charts")
    p = run(["lock", "--recipe", str(r), "--chart-cache", str(tmp_path / "c"), "--retries", "0"], check=False)
    assert p.returncode == 3, p.stderr
    assert p.stderr.count("Connection refused") == 1, p.stderr
    assert p.stderr.count("/charts/index.yaml") == 2, p.stderr  # reqwest names the URL once more
