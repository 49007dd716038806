# imagebom — the two entry points a newcomer needs.
#   make bom   build the BOMs of the bundled recipe into dist/ (offline, from the committed lock)
#   make test  install what the tests need (when missing) and run every test
CARGO ?= cargo
RECIPE ?= recipes/registry.yaml
OUT ?= dist/

# Reproducible timestamps: the time of the last commit unless the caller sets one.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

.PHONY: bom test
bom:
	$(CARGO) run --release --locked -p imagebom -- generate --recipe $(RECIPE) --out $(OUT) --page docs/user/container-images.md

test:
	bash tests/run.sh
