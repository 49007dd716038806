"""Chart dependencies fetched as `helm dependency build` fetches them: a chart shipped without
its `charts/` (as from git) whose dependency is served by a local HTTP chart repository (a
static server over a directory with `index.yaml` + `.tgz`) or pushed to a real docker-registry
as `oci://`, both built here from a corpus chart with the Helm v4 SDK (package, repo index,
push). The render is compared with the Helm SDK rendering the same chart after its own
`dependency update` / `dependency build`."""
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
import helm_python as helm
import yaml

from conftest import run, shared, tool
from registry import Registry, free_port


PARENT = "gpu-operator"
DEP = "node-feature-discovery"


def serve(directory):
    """A static HTTP server over `directory` on loopback; returns (server, url)."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        QuietHandler.requests.append(self.path)


def parent_without_charts(tmp_path, name, repository):
    """The corpus parent chart copied without `charts/`, its dependency pointed at
    `repository`."""
    src = shared("corpus", "charts", PARENT)
    dst = tmp_path / name / PARENT
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("charts"))
    meta = yaml.safe_load((dst / "Chart.yaml").read_text())
    for d in meta["dependencies"]:
        if d["name"] == DEP:
            d["repository"] = repository
    (dst / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    # The corpus lock names the upstream repository: stale here.
    (dst / "Chart.lock").unlink(missing_ok=True)
    return dst


def package_dependency(tmp_path):
    """The corpus parent's vendored dependency, packaged by Helm."""
    out = tmp_path / "packages"
    out.mkdir(exist_ok=True)
    return helm.package(shared("corpus", "charts", PARENT, "charts", DEP), destination=out)


def helm_built(chart, tmp_path, name):
    """A copy of `chart` whose charts/ and Chart.lock Helm's `dependency update` made."""
    built = tmp_path / name / PARENT
    shutil.copytree(chart, built)
    helm.dependency_update(built, plain_http=True)
    return built


def documents(text):
    """The stream's documents by `# Source:` template, parsed."""
    out = {}
    for part in text.split("\n---"):
        part = part.strip().removeprefix("---").strip()
        if not part.startswith("# Source: "):
            continue
        source = part.splitlines()[0][len("# Source: "):]
        doc = yaml.safe_load(part)
        if doc is not None:
            out.setdefault(source, []).append(doc)
    return {k: sorted(v, key=json.dumps) for k, v in out.items()}


def helm_render(chart, tmp_path):
    out = tmp_path / "helm.yaml"
    p = subprocess.run([sys.executable, str(shared("oracle", "helm_render.py")), str(chart), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out.read_text()


def imagebom_render(chart, cache, *extra, check=True):
    return run(["render", str(chart), "--chart-cache", str(cache), *extra], check=check)


@pytest.fixture(scope="module")
def http_repo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http-repo")
    repo = tmp / "repo"
    repo.mkdir()
    shutil.copy(package_dependency(tmp), repo)
    server, url = serve(repo)
    helm.repo_index_generate(repo, base_url=url)
    yield url, repo
    server.shutdown()


@pytest.fixture(scope="module")
def oci_repo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oci-repo")
    reg = Registry(tmp / "registry")
    helm.push(package_dependency(tmp), f"oci://{reg.host}/nfd/charts", plain_http=True)
    yield f"oci://{reg.host}/nfd/charts", reg
    reg.stop()


def check_fetched(chart, built, tmp_path, cache, *extra):
    """imagebom fetches the missing dependency and renders what Helm renders with it built."""
    assert not (chart / "charts").exists()
    ours = imagebom_render(chart, cache, *extra).stdout
    theirs = helm_render(built, tmp_path)
    assert documents(ours) == documents(theirs)
    assert any(s.startswith(f"{PARENT}/charts/{DEP}/") for s in documents(ours))


def test_http_dependency_with_lock_matches_helm(http_repo, tmp_path):
    url, _ = http_repo
    chart = parent_without_charts(tmp_path, "ours", url)
    built = helm_built(chart, tmp_path, "helm")
    shutil.copy(built / "Chart.lock", chart / "Chart.lock")
    cache = tmp_path / "cache"
    check_fetched(chart, built, tmp_path, cache)
    # Now cached: offline works, and names nothing missing.
    check_fetched(chart, built, tmp_path, cache, "--offline")


def test_oci_dependency_without_lock_matches_helm(oci_repo, tmp_path):
    url, _ = oci_repo
    chart = parent_without_charts(tmp_path, "ours", url)
    built = helm_built(chart, tmp_path, "helm")
    check_fetched(chart, built, tmp_path, tmp_path / "cache", "--insecure-registry", url[len("oci://"):].split("/")[0])


def test_offline_names_the_missing_dependency(http_repo, tmp_path):
    url, _ = http_repo
    chart = parent_without_charts(tmp_path, "ours", url)
    p = imagebom_render(chart, tmp_path / "empty-cache", "--offline", check=False)
    assert p.returncode == 2, p.stderr
    err = p.stderr
    assert f'dependency "{DEP}"' in err and url in err and "0.19.0" in err, err
    assert "without --offline" in err and "helm dependency build" in err, err


def test_stale_lock_is_helms_error(http_repo, tmp_path):
    url, _ = http_repo
    chart = parent_without_charts(tmp_path, "ours", url)
    built = helm_built(chart, tmp_path, "helm")
    lock = yaml.safe_load((built / "Chart.lock").read_text())
    shutil.copy(built / "Chart.lock", chart / "Chart.lock")
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta["dependencies"][0]["version"] = "0.18.0"
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    p = imagebom_render(chart, tmp_path / "cache", check=False)
    assert p.returncode == 2, p.stderr
    assert ("the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). "
            "Please update the dependencies") in p.stderr, p.stderr
    # Helm's dependency build refuses the same lock.
    with pytest.raises(helm.HelmError, match="out of sync"):
        helm.dependency_build(chart, plain_http=True)
    assert lock["digest"].startswith("sha256:")


def test_the_bom_lists_the_fetched_subchart(http_repo, tmp_path):
    url, repo = http_repo
    chart = parent_without_charts(tmp_path, "ours", url)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "apiVersion": "imagebom.dev/v1alpha1", "kind": "Recipe",
        "metadata": {"name": "deps", "version": "1"},
        "components": [{"name": "gpu", "helm": {"repository": f"./ours/{PARENT}", "chart": PARENT,
                                                 "version": ""}}],
    }))
    out = tmp_path / "out"
    run(["generate", "--recipe", str(recipe), "--chart-cache", str(tmp_path / "cache"),
         "--out", str(out), "--format", "cyclonedx,spdx"])
    text = (out / "bom.cdx.json").read_text()
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    p = subprocess.run([tool("pyspdxtools"), "-i", str(out / "bom.spdx.json")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    spdx = json.loads((out / "bom.spdx.json").read_text())
    sub = next(p for p in spdx["packages"] if p["name"] == DEP)
    # SPDX's download-location grammar takes no IP address: the comment names the source.
    assert sub["versionInfo"] == "0.19.0" and sub["downloadLocation"] == "NOASSERTION"
    assert f"from {url}/" in sub["comment"], sub
    bom = json.loads(text)
    comp = next(c for c in bom["components"] if c.get("bom-ref") == "component:gpu")
    subs = {c["name"]: c for c in comp.get("components", [])}
    assert DEP in subs, comp
    archive = next(repo.glob(f"{DEP}-*.tgz"))
    assert subs[DEP]["version"] == "0.19.0"
    assert sub["checksums"] == [{"algorithm": "SHA256", "checksumValue": helm.digest(archive).removeprefix("sha256:")}]
    assert subs[DEP]["hashes"] == [{"alg": "SHA-256", "content": helm.digest(archive).removeprefix("sha256:")}]
    assert subs[DEP]["externalReferences"][0]["type"] == "distribution"
    assert subs[DEP]["externalReferences"][0]["url"].startswith(url)


def test_a_repository_named_in_repositories_yaml(http_repo, tmp_path, monkeypatch):
    url, _ = http_repo
    config = tmp_path / "repositories.yaml"
    config.write_text(yaml.safe_dump({"apiVersion": "", "repositories": [{"name": "local", "url": url}]}))
    monkeypatch.setenv("HELM_REPOSITORY_CONFIG", str(config))
    env = dict(os.environ)
    built = helm_built(parent_without_charts(tmp_path, "helm-src", url), tmp_path, "helm")
    for form in ("@local", "alias:local"):
        chart = parent_without_charts(tmp_path, form.replace(":", "-").replace("@", "at-"), form)
        p = run(["render", str(chart), "--chart-cache", str(tmp_path / "cache")], env=env)
        assert documents(p.stdout) == documents(helm_render(built, tmp_path))
    chart = parent_without_charts(tmp_path, "unknown", "@nope")
    p = run(["render", str(chart), "--chart-cache", str(tmp_path / "cache")], env=env, check=False)
    assert p.returncode == 2, p.stderr
    # The Helm SDK's own words for the same chart.
    with pytest.raises(helm.HelmError) as e:
        helm.dependency_build(chart)
    assert str(e.value) == "no repository definition for @nope. Please add them via 'helm repo add'"
    assert str(e.value) in p.stderr, p.stderr


def test_an_unreachable_dependency_repository_is_a_network_failure(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    chart = parent_without_charts(tmp_path, "ours", url)
    p = imagebom_render(chart, tmp_path / "cache", "--retries", "0", check=False)
    assert p.returncode == 3, p.stderr
    assert p.stderr.startswith(f'error: chart {PARENT}: dependency "{DEP}": chart "{DEP}" version "0.19.0" from {url}'), p.stderr


# --- Chart mirrors for fetched dependencies (issue 15 §4 + §5) -------------------------------

@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    """A parent chart as git ships it (no charts/), its dependency's canonical repository an
    HTTP repository that served Helm's `dependency update` (hence its Chart.lock) and is now
    gone (a closed port); plus Helm's build of it and the packaged dependency."""
    tmp = tmp_path_factory.mktemp("canonical")
    archive = package_dependency(tmp)
    repo = tmp / "repo"
    repo.mkdir()
    shutil.copy(archive, repo)
    server, url = serve(repo)
    helm.repo_index_generate(repo, base_url=url)
    chart = parent_without_charts(tmp, "ours", url)
    built = helm_built(chart, tmp, "helm")
    server.shutdown()
    server.server_close()
    shutil.copy(built / "Chart.lock", chart / "Chart.lock")
    return url, chart, built, archive


def test_dependency_from_a_directory_mirror_matches_helm(canonical, tmp_path):
    url, chart, built, archive = canonical
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(archive, mirror)
    # Without the mirror the canonical repository is unreachable.
    p = imagebom_render(chart, tmp_path / "cache0", "--retries", "0", check=False)
    assert p.returncode == 3 and url in p.stderr, p.stderr
    check_fetched(chart, built, tmp_path, tmp_path / "cache", "--chart-mirror", f"{url}={mirror}")


def test_dependency_from_an_http_mirror_matches_helm(canonical, tmp_path):
    url, chart, built, archive = canonical
    repo = tmp_path / "mirror"
    repo.mkdir()
    shutil.copy(archive, repo)
    server, mirror = serve(repo)
    helm.repo_index_generate(repo, base_url=mirror)
    try:
        QuietHandler.requests.clear()
        check_fetched(chart, built, tmp_path, tmp_path / "cache", "--chart-mirror", f"{url}={mirror}")
        assert "/index.yaml" in QuietHandler.requests, QuietHandler.requests
    finally:
        server.shutdown()


def test_dependency_from_an_oci_mirror_matches_helm(canonical, tmp_path):
    url, chart, built, archive = canonical
    reg = Registry(tmp_path / "registry")
    try:
        helm.push(archive, f"oci://{reg.host}/mirror/charts", plain_http=True)
        check_fetched(chart, built, tmp_path, tmp_path / "cache", "--insecure-registry", reg.host,
                      "--chart-mirror", f"{url}=oci://{reg.host}/mirror/charts")
    finally:
        reg.stop()


def test_a_mirror_without_the_pinned_version_is_an_error(canonical, tmp_path):
    url, chart, _, _ = canonical
    empty = tmp_path / "empty"
    empty.mkdir()
    p = imagebom_render(chart, tmp_path / "cache", "--chart-mirror", f"{url}={empty}", check=False)
    assert p.returncode == 2, p.stderr
    assert (f'chart {PARENT}: dependency "{DEP}": chart mirror {empty}: no chart "{DEP}" 0.19.0 at {empty}'
            in p.stderr), p.stderr
    assert f"{DEP}-0.19.0.tgz" in p.stderr, p.stderr
    # A folder holding another version of the chart is refused, naming both versions.
    other = tmp_path / "other"
    shutil.copytree(shared("corpus", "charts", PARENT, "charts", DEP), other / DEP)
    meta = yaml.safe_load((other / DEP / "Chart.yaml").read_text())
    meta["version"] = "0.18.9"
    (other / DEP / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    p = imagebom_render(chart, tmp_path / "cache", "--chart-mirror", f"{url}={other}", check=False)
    assert p.returncode == 2, p.stderr
    assert f"serves {DEP} version 0.18.9, not 0.19.0 (pinned by the lock)" in p.stderr, p.stderr
    # An HTTP mirror whose index lacks the version: the repository's own error, naming the mirror.
    repo = tmp_path / "repo"
    repo.mkdir()
    server, mirror = serve(repo)
    (repo / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {}}))
    try:
        p = imagebom_render(chart, tmp_path / "cache", "--chart-mirror", f"{url}={mirror}", check=False)
    finally:
        server.shutdown()
    assert p.returncode == 2, p.stderr
    assert f'dependency "{DEP}": chart "{DEP}" version "0.19.0" from {mirror}' in p.stderr, p.stderr


def test_the_bom_keeps_the_canonical_repository_of_a_mirrored_dependency(canonical, tmp_path):
    url, chart, _, archive = canonical
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(archive, mirror)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "apiVersion": "imagebom.dev/v1alpha1", "kind": "Recipe",
        "metadata": {"name": "deps", "version": "1"},
        "settings": {"chartMirrors": {url: "mirror"}},
        "components": [{"name": "gpu", "helm": {"repository": str(chart), "chart": PARENT, "version": ""}}],
    }))
    out = tmp_path / "out"
    run(["generate", "--recipe", str(recipe), "--chart-cache", str(tmp_path / "cache"),
         "--out", str(out), "--format", "cyclonedx,spdx"])
    bom = json.loads((out / "bom.cdx.json").read_text())
    comp = next(c for c in bom["components"] if c.get("bom-ref") == "component:gpu")
    sub = {c["name"]: c for c in comp.get("components", [])}[DEP]
    digest = helm.digest(archive).removeprefix("sha256:")
    assert sub["version"] == "0.19.0"
    assert sub["hashes"] == [{"alg": "SHA-256", "content": digest}]
    assert sub["externalReferences"][0]["url"] == f"{url}/{DEP}", sub
    assert str(mirror) not in (out / "bom.cdx.json").read_text()
    spdx = json.loads((out / "bom.spdx.json").read_text())
    pkg = next(p for p in spdx["packages"] if p["name"] == DEP)
    assert f"from {url}/{DEP}" in pkg["comment"], pkg
    assert str(mirror) not in (out / "bom.spdx.json").read_text()
