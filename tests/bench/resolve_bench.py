"""Benchmark: resolve N tags in a local registry through a proxy adding 20 ms to every request
(`xtask latency-proxy`, async Rust),
against a sequential `skopeo inspect` loop over the same references (run by `cargo xtask bench-resolve`).

Targets (issue 4): at least 20x faster than the skopeo loop; total time within 1.5x of the latency
bound (requests / concurrency x 20 ms); at most 1 request per single-platform image and 2 per
multi-platform image once any token is cached.

The resolve runs once per BENCH_CONCURRENCY entry (default "16,32": imagebom's default, where the
latency target is judged, and 32, reported), from an empty cache each time; the registry uses
distribution's in-memory storage (BENCH_REGISTRY_STORAGE=filesystem for disk). CPU seconds of the
client, the registry and the proxy are printed per run: on a 2-core machine the registry's own CPU
is what limits the run at high concurrency."""
import atexit
import json
import os
import resource
import shutil
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from registry import SKOPEO, Layout, Registry  # noqa: E402

N = int(os.environ.get("BENCH_TAGS", "1000"))
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.020"))
# Requests in flight, per run: imagebom's default (16, where the latency target is judged)
# and 32 (reported; on a 2-core machine the registry's own CPU dominates there).
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "16,32").split(",")]
BIN = os.environ.get("IMAGEBOM_BIN", str(ROOT / "target" / "release" / "imagebom"))
XTASK = os.environ.get("XTASK_BIN", str(ROOT / "target" / "debug" / "xtask"))


class LatencyProxy:
    """`xtask latency-proxy`: async Rust, adds LATENCY to every request and counts them."""

    def __init__(self, upstream: str, latency: float):
        self.proc = subprocess.Popen([XTASK, "latency-proxy", upstream, "--latency-ms", str(round(latency * 1000))],
                                     stdout=subprocess.PIPE, text=True)
        atexit.register(self.stop)
        self.host = self.proc.stdout.readline().strip()
        assert self.host, "latency-proxy did not start"

    @property
    def requests(self) -> int:
        with urllib.request.urlopen(f"http://{self.host}/_proxy/requests") as r:
            return int(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (from /proc)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def retag(host, repo, src_tag, tags):
    accept = ",".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"])
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{src_tag}", headers={"Accept": accept})
    with urllib.request.urlopen(req) as r:
        body, ctype = r.read(), r.headers["Content-Type"]
    for t in tags:
        put = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{t}", data=body, method="PUT",
                                     headers={"Content-Type": ctype})
        urllib.request.urlopen(put).read()


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="imagebom-bench-"))
    reg = Registry(tmp / "registry", in_memory=os.environ.get("BENCH_REGISTRY_STORAGE", "inmemory") == "inmemory",
                   env={"GOGC": os.environ.get("BENCH_REGISTRY_GOGC", "100")})
    atexit.register(reg.stop)
    lay = Layout(tmp / "layout")
    lay.tag(lay.index([lay.image("amd64"), lay.image("arm64", "v8")]), "multi")
    lay.tag(lay.image("amd64", text=b"single"), "single")
    reg.push(tmp / "layout", "multi", "bench/multi")
    reg.push(tmp / "layout", "single", "bench/single")
    half = N // 2
    retag(reg.host, "bench/multi", "multi", [f"t{i}" for i in range(half)])
    retag(reg.host, "bench/single", "single", [f"t{i}" for i in range(N - half)])
    proxy = LatencyProxy(reg.host, LATENCY)
    refs = [f"{proxy.host}/bench/multi:t{i}" for i in range(half)] + \
           [f"{proxy.host}/bench/single:t{i}" for i in range(N - half)]
    pods = "".join(f"    - {{name: c{i}, image: '{r}'}}\n" for i, r in enumerate(refs))
    (tmp / "m.yaml").write_text(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")
    (tmp / "recipe.yaml").write_text("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\n"
                                     "metadata: {name: bench, version: '1'}\ncomponents:\n"
                                     "  - name: c\n    manifests: [m.yaml]\n")

    def resolve(concurrency: int) -> dict:
        """One `lock --resolve` run with `concurrency` requests in flight (overall and to the
        one registry), from an empty cache and no lock."""
        (tmp / "imagebom.lock").unlink(missing_ok=True)
        shutil.rmtree(tmp / "cache", ignore_errors=True)
        requests0 = proxy.requests
        reg_cpu0, proxy_cpu0 = cpu_seconds(reg.proc.pid), cpu_seconds(proxy.proc.pid)
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        p = subprocess.run([BIN, "-q", "lock", "--resolve", "--recipe", str(tmp / "recipe.yaml"),
                            "--insecure-registry", proxy.host, "--concurrency", str(concurrency),
                            "--per-registry", str(concurrency),
                            "--cache-ttl", "0", "--cache-dir", str(tmp / "cache")], capture_output=True, text=True)
        ours = time.perf_counter() - start
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert p.returncode == 0, p.stderr
        requests = proxy.requests - requests0
        lock = json.loads((tmp / "imagebom.lock").read_text())["images"]
        assert len(lock) == N
        bound = requests / concurrency * LATENCY
        return {
            "concurrency": concurrency, "imagebom_s": round(ours, 2), "requests": requests,
            "requests_per_image": round(requests / N, 3), "latency_bound_s": round(bound, 2),
            "vs_bound": round(ours / bound, 2) if bound else None,
            "imagebom_cpu_s": round(child1.ru_utime + child1.ru_stime - child0.ru_utime - child0.ru_stime, 2),
            "registry_cpu_s": round(cpu_seconds(reg.proc.pid) - reg_cpu0, 2),
            "proxy_cpu_s": round(cpu_seconds(proxy.proc.pid) - proxy_cpu0, 2),
        }

    runs = [resolve(c) for c in CONCURRENCY]

    # BENCH_SKOPEO=K times the loop over the first K references only and extrapolates to all N.
    timed = max(1, min(int(os.environ.get("BENCH_SKOPEO", len(refs))), len(refs)))
    start = time.perf_counter()
    for r in refs[:timed]:
        subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false", f"docker://{r}"],
                       check=True, capture_output=True)
    skopeo = (time.perf_counter() - start) / timed * len(refs)
    for r in runs:
        r["speedup_vs_skopeo"] = round(skopeo / r["imagebom_s"], 1)

    report = {
        "tags": N, "multi_platform": half, "single_platform": N - half, "latency_ms": LATENCY * 1000,
        "skopeo_loop_s": round(skopeo, 2), "skopeo_refs_timed": timed, "runs": runs,
    }
    print(json.dumps(report, indent=2))
    max_requests = (N - half) + 2 * half + 2
    # The latency target is judged at the first concurrency (imagebom's default, 16); the others
    # are reported. Every run must keep the request count and the speed-up over skopeo.
    ok = (all(r["speedup_vs_skopeo"] >= 20 and r["requests"] <= max_requests for r in runs)
          and (runs[0]["vs_bound"] or 0) <= 1.5)
    for r in runs:
        print(f"concurrency {r['concurrency']}: {r['imagebom_s']} s, {r['vs_bound']}x the latency bound "
              f"({r['latency_bound_s']} s), {r['requests_per_image']} requests per image, "
              f"{r['speedup_vs_skopeo']}x the skopeo loop; CPU s client/registry/proxy "
              f"{r['imagebom_cpu_s']}/{r['registry_cpu_s']}/{r['proxy_cpu_s']}", file=sys.stderr)
    print(f"targets (>=20x skopeo, <=1.5x the latency bound at concurrency {runs[0]['concurrency']}, "
          f"<= 1 request per single- and 2 per multi-platform image): {'met' if ok else 'NOT MET'}", file=sys.stderr)
    reg.stop()
    proxy.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
