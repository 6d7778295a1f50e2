# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv from pyproject.toml.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

.PHONY: install run test lint openapi bench
install: $(STAMP)

## Start the API on http://127.0.0.1:8000 with the 陵川 demo county (SQLite under ./var unless SHIFAN_DATABASE_URL is set)
run: $(STAMP)
	$(VENV)/bin/shifan demo --serve

## Lint, then the whole test suite (PostgreSQL at 127.0.0.1:5432; required when CI=true)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

## Run the benchmarks under bench/ and rewrite BENCHMARKS.md (starts its own S3 server, databases and API on 127.0.0.1; installs wrk)
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(VENV)/bin/python bench/run.py

## Regenerate openapi/openapi.json from the code
openapi: $(STAMP)
	$(VENV)/bin/shifan openapi
