#!/usr/bin/env bash
# The README's test command (`make test`; `.ci/run` calls it on a clean clone).
# Installs what the tests need when missing, then runs every test:
#   rustfmt/clippy gates, `cargo test --workspace` (unit, corpus acceptance, purl conformance,
#   schema validation, CLI end-to-end) and the Python integration suite against real consumers.
# Environment: IMAGEBOM_CORPUS (default ../shared/corpus), IMAGEBOM_CONFORMANCE (default
# ../shared/conformance), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

section() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests need: a real registry and skopeo to fill it (tests/integration/
# test_registry.py), Go for the text/template conformance oracle (tests/oracle/gotmpl), openssl for
# the keyed-signature and private-CA oracles (crates/imagebom-verify/tests), curl and jq for the
# Dependency-Track upload script (test_scanners.py).
# Installs only what is missing; uses sudo when not root.
APT_PACKAGES=(docker-registry skopeo golang-go openssl curl jq)
install_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  section "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}
if [ ${#APT_PACKAGES[@]} -gt 0 ]; then install_apt "${APT_PACKAGES[@]}"; fi

# Python venv with the oracles, rebuilt only when tests/requirements.txt changes.
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  section "python venv (.venv) with the oracles"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r tests/requirements.txt
  echo "$WANT" > "$STAMP"
fi

export IMAGEBOM_CORPUS="${IMAGEBOM_CORPUS:-$ROOT/../shared/corpus}"
export IMAGEBOM_CONFORMANCE="${IMAGEBOM_CONFORMANCE:-$ROOT/../shared/conformance}"

section "cargo fmt --check"
cargo fmt --all -- --check
section "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
section "cargo test --workspace"
cargo test --workspace --locked
section "schemas match the official copies"
cargo run --quiet --locked -p xtask -- schemas
# cargo-deny from crates.io, kept inside the clone (target/tools) so CI caches nothing outside
# it; installed once (16 min on the shared 2-core build machine, under load), then reused.
# Advisories need the RustSec database from the network: a release step (docs/releases.md).
section "cargo deny check licenses bans sources"
DENY="$ROOT/target/tools/bin/cargo-deny"
if [ ! -x "$DENY" ]; then
  cargo install --locked --quiet cargo-deny --version ^0.20 --root "$ROOT/target/tools"
fi
"$DENY" check --hide-inclusion-graph licenses bans sources
section "conformance expectations are what the oracles print (Go text/template, Helm SDK)"
cargo run --quiet --locked -p xtask -- conformance --check
section "integration suite (real consumers)"
cargo build --locked -p imagebom
export IMAGEBOM_BIN="${IMAGEBOM_BIN:-$ROOT/target/debug/imagebom}"
"$VENV/bin/python" -m pytest -q -rs tests/integration
