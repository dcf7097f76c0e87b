# Every target creates the virtual environment it needs; nothing has to be installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: that CPU build lies on this machine's disk; an open range pulls a CUDA build.
TORCH_VERSION ?= 2.13.0

.PHONY: demo test test-fast image-test venv test-venv system-deps azurite bench-cold-start clean

$(BIN)/flytelite: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

venv: $(BIN)/flytelite

$(VENV)/.test-deps: $(BIN)/flytelite pyproject.toml
	$(BIN)/pip install -q torch==$(TORCH_VERSION)
	$(BIN)/pip install -q -e '.[test,torch]'
	touch $@

test-venv: $(VENV)/.test-deps

# Debian's chromium for the deck tests in a real browser (they are skipped, saying why, without it).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium is missing and cannot be installed here: the browser tests will be skipped"; fi; }
	@command -v npm >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else echo "npm is missing and cannot be installed here: the Azure tests (Azurite) will fail"; fi; }

# Azurite, the Azure Blob emulator the Azure storage tests run against (npm package, into .azurite/).
AZURITE := .azurite/node_modules/.bin/azurite-blob
$(AZURITE):
	npm install --prefix .azurite --no-audit --no-fund --silent azurite@3

azurite: $(AZURITE)

## demo: run a real task end to end on local storage
demo: venv
	$(BIN)/flytelite run examples/arithmetic.py add --a 2 --b 40
	PATH=$(abspath $(BIN)):$$PATH sh examples/demo.sh

## test: the whole test suite
test: test-venv system-deps azurite
	$(BIN)/python -m pytest -q

## test-fast: the unit tests, without the end-to-end ones (subprocesses, servers, workers, browser)
test-fast: test-venv
	$(BIN)/python -m pytest -q -m "not slow"

## image-test: build the Dockerfile's images (buildah, on a base made from Debian's packages, cached in
## $(IMAGE_CACHE)/) and run tests/image inside them as uid 1000; skips, saying why, where not root or no apt-get
IMAGE_CACHE ?= .image
image-test: test-venv
	tests/image/image_test.sh $(IMAGE_CACHE) $(BIN)/python

## bench-cold-start: flytelite execute against the interpreter floor (hyperfine)
bench-cold-start: venv
	$(BIN)/python benchmarks/cold_start.py

clean:
	rm -rf $(VENV) build src/*.egg-info .azurite $(IMAGE_CACHE)
