"""Helm SDK side of `cargo xtask bench-render`: render charts with the real Helm v4 Go SDK
(`helm_python`, as ../shared/oracle/helm_render.py does) and time the SDK calls.

    helm_bench.py serve SPEC.json REPS OUTDIR   one long-lived process: per chart, one untimed warm-up
                                                render, then REPS timed `Chart.load` + `render` calls
                                                (Python start-up and the library load are not charged);
                                                writes OUTDIR/NAME.oracle.yaml once and prints JSON
                                                with wall (`ms`) and CPU time (`cpu_ms`) per call
    helm_bench.py once SPEC.json NAME           one render in a fresh process, the stream on stdout
                                                (timed from outside: the per-process figure)

SPEC.json: [{"name": N, "path": CHARTDIR, "values": FILE or null}, ...]. The stream is the
`helm template` form of helm_render.py: `---` and `# Source: PATH` before each non-empty
template, ordered by path, NOTES.txt rendered (a `fail` there fails) but not written.

`cpu_ms` is the `time.process_time()` delta around each call: the whole process's CPU time, so
the Go runtime's threads (its garbage collector included) are charged to the SDK, as they are
part of its cost."""
import json
import pathlib
import statistics
import sys
import time

import helm_python as helm
import yaml


def load_spec(path, name=None):
    spec = json.loads(pathlib.Path(path).read_text())
    for c in spec:
        c["values_obj"] = yaml.safe_load(open(c["values"])) if c.get("values") else None
    return [c for c in spec if name is None or c["name"] == name]


def render(chart):
    with helm.Chart.load(chart["path"]) as ch:
        return ch.render(chart["values_obj"], name="release-name", namespace="default", is_install=True)


def stream(manifests):
    out = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        out.append(f"---\n# Source: {path}\n{text.strip()}\n")
    return "".join(out)


def serve(spec_path, reps, outdir):
    results = []
    for chart in load_spec(spec_path):
        res = {"name": chart["name"], "ok": True, "error": None, "ms": [], "cpu_ms": []}
        try:
            text = stream(render(chart))  # warm-up, and the stream the document count is taken from
            (pathlib.Path(outdir) / f"{chart['name']}.oracle.yaml").write_text(text)
        except helm.HelmError as e:
            res["ok"], res["error"] = False, str(e).strip().splitlines()[0]
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            try:
                render(chart)
            except helm.HelmError:
                pass
            res["ms"].append((time.perf_counter() - t0) * 1000)
            res["cpu_ms"].append((time.process_time() - c0) * 1000)
        res["best_ms"], res["median_ms"] = min(res["ms"]), statistics.median(res["ms"])
        results.append(res)
    json.dump({"sdk": helm.helm_sdk_version(), "charts": results}, sys.stdout)


def once(spec_path, name):
    (chart,) = load_spec(spec_path, name)
    try:
        text = stream(render(chart))
    except helm.HelmError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "once":
        sys.exit(once(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
