"""The README's tour runs as written: every command of its `A short tour` block, on a copy of the bundled
recipe and fixtures. The two that need the registries (`lock --resolve`, `refresh`) are checked for their
command line only (clap parses every flag before `--help` wins); the registry suite runs them for real."""
import pathlib
import re
import shlex
import shutil

from conftest import ROOT, run

NETWORK = {"lock", "refresh"}


def tour_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## A short tour\n+```sh\n(.*?)```", text, re.S)
    assert block, "README has no tour block"
    cmds = [shlex.split(line) for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    assert all(c[0] == "imagebom" for c in cmds), cmds
    return [c[1:] for c in cmds]


def test_readme_tour_runs_as_written(tmp_path):
    for d in ("recipes", "fixtures"):
        shutil.copytree(ROOT / d, tmp_path / d)
    # The inputs the tour's diff and merge assume exist: BOMs of earlier runs and CI jobs.
    for d in ("old", "a", "b"):
        run(["generate", "--recipe", "recipes/registry.yaml", "--out", d], cwd=tmp_path)
    cmds = tour_commands()
    assert len(cmds) >= 9, cmds
    seen = set()
    for args in cmds:
        seen.add(args[0])
        if args[0] in NETWORK:
            p = run([*args, "--help"], cwd=tmp_path)
            assert "Usage:" in p.stdout, p.stdout
            continue
        # check finds the bundled recipe's tag-only images (exit 1, a gate); every other command succeeds.
        p = run(args, cwd=tmp_path, check=False)
        want = 1 if args[0] == "check" else 0
        assert p.returncode == want, f"imagebom {shlex.join(args)}: exit {p.returncode}\n{p.stderr}"
        if args[0] in ("images", "render"):
            assert p.stdout.strip(), f"imagebom {shlex.join(args)} printed nothing"
    assert {"generate", "lock", "images", "render", "check", "mirror", "diff", "refresh", "merge"} <= seen
    for f in ("dist/bom.cdx.json", "dist/bom.spdx.json", "dist/inventory.md", "sync.yaml"):
        assert pathlib.Path(tmp_path / f).is_file(), f


def test_bundled_page_and_lock_are_current():
    """docs/user/container-images.md says CI fails when its generated tables or the lock are stale:
    this is that gate (`make bom` rewrites them)."""
    p = run(["generate", "--check", "--recipe", "recipes/registry.yaml", "--out", "dist-check",
             "--page", "docs/user/container-images.md"], check=False)
    assert p.returncode == 0, f"stale: run `make bom` and commit\n{p.stdout}\n{p.stderr}"
    assert not (ROOT / "dist-check").exists(), "--check wrote outputs"
