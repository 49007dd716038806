"""Registry faults: retried and correct, or a clear failure — never a wrong digest."""
import hashlib
import json
import os
import time

import pytest

from faults import FaultProxy
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
