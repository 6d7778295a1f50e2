# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv (requirements-dev.lock).
# Python 3.11 is required: python3.11 when it is installed, else python3 (checked); or say PY=/path/to/python3.11.
PY ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
STAMP := $(VENV)/.installed
# `make run PORT=8080` (or HOST=0.0.0.0 to listen on every interface); ARGS go to `shifan demo --serve`
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=
# extra pytest arguments for both passes of `make test`, e.g. PYTEST_ARGS="-x tests/test_scoring.py"
PYTEST_ARGS ?=

# Every install takes its versions and SHA-256 hashes from requirements-dev.lock (`make lock` rewrites it when
# pyproject.toml's dependencies change); the project itself goes in editable, without dependencies of its own.
$(STAMP): pyproject.toml requirements-dev.lock
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "Shifan needs Python 3.11, but '$(PY)' is $$(command -v $(PY) >/dev/null && $(PY) --version 2>&1 | head -n 1 || echo 'not installed')." >&2; \
	  echo "Install Python 3.11 (e.g. apt-get install python3.11 python3.11-venv) and run again, or point" >&2; \
	  echo "make at one: make $(MAKECMDGOALS) PY=/path/to/python3.11" >&2; exit 1; }
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	@$(VENV)/bin/pip check >/dev/null || { $(VENV)/bin/pip check >&2; \
	  echo "requirements-dev.lock does not hold what pyproject.toml asks for: run make lock" >&2; \
	  [ -n "$(filter lock,$(MAKECMDGOALS))" ] || exit 1; }
	touch $(STAMP)

.PHONY: install run test test-postgresql test-sqlite lint openapi bench soak lock bundle bundle-test
install: $(STAMP)

## Start the API on http://$(HOST):$(PORT) with the 陵川 demo county (SQLite under ./var unless SHIFAN_DATABASE_URL is set)
run: $(STAMP)
	$(VENV)/bin/shifan demo --serve --host $(HOST) --port $(PORT) $(ARGS)

# pytest's cache (--lf) outside the checkout: a test run writes nothing next to the code
PYTEST_CACHE ?= $(or $(TMPDIR),/tmp)/shifan-pytest-cache-$(shell printf %s "$(CURDIR)" | cksum | cut -d' ' -f1)

## Lint, then the whole test suite twice, both passes at once: on PostgreSQL (127.0.0.1:5432; required when
## CI=true) and on SQLite. A line per finished test file of either pass shows while they run ([postgresql] …,
## [sqlite] …); each pass's report (failures, the 20 slowest tests) is printed whole when it ends; make fails
## if either pass fails.
test: lint
	@echo "make test: the PostgreSQL and SQLite passes run at once; a line per finished test file, each report when its pass ends"
	@$(VENV)/bin/python -m tests.passes test-postgresql test-sqlite

test-postgresql: $(STAMP)
	SHIFAN_TEST_DB=postgresql $(VENV)/bin/pytest -q --durations=20 -o cache_dir=$(PYTEST_CACHE)/postgresql $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	SHIFAN_TEST_DB=sqlite $(VENV)/bin/pytest -q --durations=20 -o cache_dir=$(PYTEST_CACHE)/sqlite $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

## Run the benchmarks under bench/ and rewrite BENCHMARKS.md (starts its own S3 server, databases and API on 127.0.0.1; installs wrk)
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(VENV)/bin/python bench/run.py

## Soak for SOAK_SECONDS (default 600): two APIs, a worker, private PostgreSQL and Ceph RGW, mixed traffic and
## faults; the checker's report goes into BENCHMARKS.md's soak section (needs radosgw and the PostgreSQL server binaries)
SOAK_SECONDS ?= 600
soak: $(STAMP)
	SOAK_SECONDS=$(SOAK_SECONDS) $(VENV)/bin/python -m bench.soak

## Regenerate openapi/openapi.json from the code
openapi: $(STAMP)
	$(VENV)/bin/shifan openapi

## Pin every dependency with its hashes, for Linux x86_64 / CPython 3.11: requirements-dev.lock (what the venv
## and the tests install), then requirements.lock (the runtime part at the same versions: the offline bundle's).
## Locked versions are kept unless pyproject.toml excludes them; LOCK_ARGS=--upgrade (or --upgrade-package NAME)
LOCK_ARGS ?=
LOCK_FLAGS = --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --custom-compile-command "make lock" --quiet $(LOCK_ARGS)
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock

## One archive that installs with no network: dist/shifan-offline-<version>.tar.gz, unpacking to
## shifan-offline-<version>/ (wheels/, requirements.lock, install.sh PREFIX); see README "Installing without internet"
# DIST: where the bundle goes (the image test builds into a temporary folder: a test writes nothing in the checkout)
DIST ?= dist
bundle: $(STAMP)
	$(VENV)/bin/python scripts/bundle.py --out $(DIST)

## Build the bundle, install it and start it inside a network namespace with no network, on SQLite and on a
## private PostgreSQL (as root: unshare -n; tests/test_offline_install.py)
bundle-test: $(STAMP)
	SHIFAN_OFFLINE_INSTALL_TEST=1 $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/test_offline_install.py

# The container image (README "Building and running the image"): IMAGE_TAG, plus shifan:<version>; BASE_IMAGE is
# built from Debian's packages (deploy/base-image.sh) when the engine lacks it or has one of an older recipe.
# Earlier builds' untagged images (old images, old bases, the stage holding the bundle) are removed by their labels.
IMAGE_TAG ?= shifan:latest
BASE_IMAGE ?= shifan-base:bookworm
DOCKER ?= docker
SHIFAN_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
.PHONY: image image-test

## Build the image with no network: the engine started if none runs (deploy/docker-engine.sh), the base image
## if missing or outdated, the offline bundle (make bundle), then the Dockerfile with $(DIST) as the build context
## (it holds the bundle alone)
image: bundle
	@DOCKER=$(DOCKER) deploy/docker-engine.sh
	@DOCKER=$(DOCKER) deploy/base-image.sh --unless-current $(BASE_IMAGE)
	@started=$$(date +%s); \
	  $(DOCKER) build --network none --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	    --build-arg BUNDLE=shifan-offline-$(SHIFAN_VERSION).tar.gz --file Dockerfile \
	    --tag $(IMAGE_TAG) --tag shifan:$(SHIFAN_VERSION) $(DIST) && \
	  $(DOCKER) image prune --force --filter label=org.shifan.stage=install >/dev/null && \
	  $(DOCKER) image prune --force --filter label=org.shifan.base-recipe >/dev/null && \
	  echo "image $(IMAGE_TAG): $$($(DOCKER) image inspect --format '{{.Size}}' $(IMAGE_TAG) | awk '{printf "%.0f MB", $$1/1e6}'), built in $$(( $$(date +%s) - started )) s"

## Build the image, run it with PostgreSQL and Ceph RGW on this host and prove it works (tests/test_image.py)
image-test: $(STAMP)
	SHIFAN_IMAGE_TEST=1 SHIFAN_TEST_DB=postgresql $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/test_image.py
