# imagebom — the two entry points a newcomer needs.
#   make bom   build the BOMs of the bundled recipe into dist/ (offline, from the committed lock)
#   make test  install what the tests need (when missing) and run every test
CARGO ?= cargo

.PHONY: bom test
bom:
	$(CARGO) run --release --locked -p imagebom -- generate --recipe recipes/registry.yaml --out dist/

test:
	bash tests/run.sh
