"""Helm SDK steps of `cargo xtask bench-recipe` (the Helm v4 Go SDK, PyPI helm-python-sdk).

  publish CHART_DIR HTTP_DIR OCI_REMOTE   package the chart into HTTP_DIR (a chart repository:
                                          the .tgz and `helm repo index`'s index.yaml), and push
                                          it to OCI_REMOTE (oci://host/path, plain HTTP) as a
                                          Helm OCI artefact
  template CHART VERSION OUT NAMESPACE [VALUES] (--repo URL | --oci)
                                          what AICR's `make bom` does per chart: `helm pull` (from
                                          the HTTP repository URL, or CHART is an oci:// reference)
                                          then `helm template` with VALUES, written to OUT
"""
import pathlib
import sys
import tempfile

import helm_python as helm
import yaml
from helm_python import registry


def publish(chart_dir: str, http_dir: str, oci_remote: str) -> None:
    out = pathlib.Path(http_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = helm.package(chart_dir, destination=out)
    registry.repo_index_generate(out)
    registry.push(archive, oci_remote, plain_http=True)
    print(archive)


def template(chart: str, version: str, out: str, namespace: str, rest: list) -> None:
    values_file = rest[0] if rest and not rest[0].startswith("--") else None
    values = yaml.safe_load(open(values_file)) if values_file else None
    with tempfile.TemporaryDirectory() as tmp:
        if "--oci" in rest:
            registry.pull(chart, version=version, destination=tmp, plain_http=True)
        else:
            repo = rest[rest.index("--repo") + 1]
            registry.pull(chart, version=version, repo_url=repo, destination=tmp)
        archive = next(pathlib.Path(tmp).glob("*.tgz"))
        with helm.Chart.load(str(archive)) as c:
            m = c.render(values, name="release", namespace=namespace, is_install=True)
    with open(out, "w") as f:
        for path, text in sorted(m.items()):
            if not path.endswith("NOTES.txt") and text.strip():
                f.write(f"---\n# Source: {path}\n{text.strip()}\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "publish":
        publish(*args)
    elif cmd == "template":
        template(args[0], args[1], args[2], args[3], args[4:])
    else:
        sys.exit(__doc__)
