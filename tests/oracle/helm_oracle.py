"""Helm oracle of imagebom's conformance suite: the real Helm v4 Go SDK (helm-python-sdk).

Reads a JSON array of jobs on stdin and prints a JSON array of results on stdout.

Jobs:
  {"kind": "template", "name", "template", "values_text"}
      A one-template chart: Chart.yaml (apiVersion v2, name `t`, version 0.1.0), values.yaml =
      values_text (the vector's data as compact JSON, so `.Values` is the data) and templates/t.yaml = the template. Result:
      {"name", "output": text of t/templates/t.yaml} or {"name", "error": the render error}.
  {"kind": "chart", "name", "files": {path: content}, "values": user values or null}
      A whole chart tree. Result: {"name", "output": {template path: text}} with every rendered
      file whose text is not blank (the top chart's NOTES.txt included, subcharts' left out, as
      Helm shows them), or {"name", "error"}.
  {"kind": "fixture", "name", "dir"}
      A chart directory rendered like ../shared/oracle/helm_render.py writes it (documents ordered
      by path, '# Source:' headers, NOTES.txt and blank files left out). Result: {"name", "output"}.

Every render: release name `release-name`, namespace `default`, is_install=True. Each job is
rendered alone (one chart per job; a render takes ~2 ms, so batching buys nothing measurable and
would let one failing template hide the others: Helm stops at the first error).
"""

import json
import os
import sys
import tempfile

import helm_python as helm

CHART_YAML = "apiVersion: v2\nname: t\nversion: 0.1.0\n"


def write_tree(root, files):
    for path, content in files.items():
        full = os.path.join(root, path)
        if os.path.relpath(full, root).startswith(".."):
            raise ValueError(f"path escapes the chart: {path}")
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="") as f:
            f.write(content)


def render_dir(path, values):
    with helm.Chart.load(path) as chart:
        return chart.render(values, name="release-name", namespace="default", is_install=True)


def is_subchart_notes(path):
    """Helm renders every chart's NOTES.txt (a failure in one fails the render) but shows only
    the top chart's; subcharts' rendered notes are left out of chart results."""
    return path.endswith("/templates/NOTES.txt") and "/charts/" in path


def stream(manifests):
    out = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        out.append(f"---\n# Source: {path}\n{text.strip()}\n")
    return "".join(out)


def run(job, tmp, i):
    kind = job["kind"]
    if kind == "fixture":
        return stream(render_dir(job["dir"], None))
    root = os.path.join(tmp, str(i))
    if kind == "template":
        files = {
            "Chart.yaml": CHART_YAML,
            "values.yaml": job["values_text"],
            "templates/t.yaml": job["template"],
        }
        write_tree(root, files)
        return render_dir(root, None)["t/templates/t.yaml"]
    if kind == "chart":
        write_tree(root, job["files"])
        m = render_dir(root, job.get("values"))
        return {p: t for p, t in sorted(m.items()) if t.strip() and not is_subchart_notes(p)}
    raise ValueError(f"unknown job kind {kind!r}")


def main():
    jobs = json.load(sys.stdin)
    results = []
    with tempfile.TemporaryDirectory(prefix="imagebom-helm-oracle-") as tmp:
        for i, job in enumerate(jobs):
            r = {"name": job["name"]}
            try:
                r["output"] = run(job, tmp, i)
            except helm.HelmError as e:
                r["error"] = str(e)
            results.append(r)
    json.dump(results, sys.stdout, ensure_ascii=False)
    print(f"helm sdk {helm.helm_sdk_version()}: {len(jobs)} jobs", file=sys.stderr)


if __name__ == "__main__":
    main()
