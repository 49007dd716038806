#!/usr/bin/env python3
"""Regenerates tests/go_cases.json: runs every case of tests/oracle/cases.jsonl through
the Go 1.19 text/template oracle (tests/oracle/main.go, stdlib only, with Helm's
include/tpl copied from Helm's pkg/engine) and stores Go's output or error text.

usage: python3 tests/oracle/gen.py   (from crates/imagebom-template; needs `go`)
"""
import json, os, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
out_bin = os.path.join(tempfile.gettempdir(), "imagebom-template-go-oracle")
subprocess.run(["go", "build", "-o", out_bin, os.path.join(here, "main.go")], check=True)
ver = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout.strip()
cases = []
with open(os.path.join(here, "cases.jsonl")) as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        c = json.loads(line)
        r = subprocess.run([out_bin], input=json.dumps(c), capture_output=True, text=True)
        status, _, text = r.stdout.partition("\n")
        c["expect_ok"] = status == "OK"
        c["expect"] = text
        cases.append(c)
with open(os.path.join(here, "..", "go_cases.json"), "w") as f:
    json.dump({"generated_by": ver + " via tests/oracle/gen.py", "cases": cases}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(cases), "cases")
