#!/usr/bin/env python3
"""A `helm` command for `kubectl kustomize --enable-helm --helm-command THIS`, backed by the real
Helm v4 Go SDK (PyPI `helm-python-sdk`): Kustomize itself reads the kustomization, merges
`valuesInline` into the values file, builds the `helm template` arguments and places the output;
this script only answers `helm version` and renders `helm template NAME CHART [flags]` with the SDK.

Supported flags: -f/--values (merged as Helm merges them: maps recursively, later files win),
--namespace, --include-crds, --skip-tests, --no-hooks (dropping hook documents as Helm does).
--kube-version, --api-versions and --name-template are refused (the SDK's render takes none)."""
import sys

import helm_python as helm
import yaml

HOOK = "helm.sh/hook"


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def hooks_of(doc):
    ann = ((doc or {}).get("metadata") or {}).get("annotations") or {}
    h = ann.get(HOOK)
    return [x.strip() for x in h.split(",")] if isinstance(h, str) else []


def template(args):
    name, chart, values, ns = None, None, {}, "default"
    crds = skip_tests = no_hooks = False
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--values"):
            with open(args[i + 1]) as f:
                merge(values, yaml.safe_load(f) or {})
            i += 2
        elif a == "--namespace":
            ns = args[i + 1]
            i += 2
        elif a == "--include-crds":
            crds = True
            i += 1
        elif a == "--skip-tests":
            skip_tests = True
            i += 1
        elif a == "--no-hooks":
            no_hooks = True
            i += 1
        elif a.startswith("-"):
            sys.exit(f"helm_sdk.py: flag {a} not supported by this oracle")
        else:
            pos.append(a)
            i += 1
    name, chart = pos
    out = []
    with helm.Chart.load(chart) as c:
        if crds:
            for crd in c.crds:
                out.append((crd["filename"], crd["data"]))
        m = c.render(values, name=name, namespace=ns, is_install=True)
    for path, text in sorted(m.items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        kinds = [h for d in docs for h in hooks_of(d)]
        if no_hooks and kinds:
            continue
        if skip_tests and any(h.startswith("test") for h in kinds):
            continue
        out.append((path, text))
    for path, text in out:
        sys.stdout.write(f"---\n# Source: {path}\n{text.strip()}\n")


def main():
    args = sys.argv[1:]
    if args and args[0] == "version":
        # Kustomize v5.5.0 accepts only a Helm 3 version string; the renderer is the v4 SDK.
        print("v3.99.0 (helm_sdk.py wrapper; Helm SDK " + helm.helm_sdk_version() + ")")
        return
    if args and args[0] == "template":
        return template(args[1:])
    sys.exit(f"helm_sdk.py: unsupported command {args}")


if __name__ == "__main__":
    main()
