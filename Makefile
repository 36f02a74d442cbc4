# Everything a developer and CI run. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# Two stamps: what running needs (`make up`), and the dev tools on top (tests, checks).
RUN_STAMP := $(VENV)/.run-installed
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# Exact pins (make lock) for reproducible installs; pyproject.toml holds the ranges.
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
LOCK_ARGS := --universal --python-version 3.11 --quiet
DOCS_STAMP := $(VENV)/.docs-installed
# helm for the chart's checks (tests/deploy): not in Debian or PyPI, see the script.
HELM := $(VENV)/bin/helm

.PHONY: help venv venv-run lock web web-deps web-check up test test-browser test-deploy docs chaos fuzz check lint typecheck openapi soak bench bench-engine bench-api bench-stats bench-web bench-first-start clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# uv installs from the lock in seconds with a warm cache (pip re-downloads every wheel
# when the index sends no cache headers); it is pinned in requirements/uv.txt.
$(UV):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/uv.txt

$(RUN_STAMP): $(UV) pyproject.toml $(RUN_LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -c $(RUN_LOCK) -e '.[server]'
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) $(DEV_LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -c $(DEV_LOCK) -e '.[server,dev]'
	touch $(STAMP)

venv-run: $(RUN_STAMP) ## create the virtual environment with what running needs (no dev tools)

venv: $(STAMP) ## create the virtual environment and install Conveyor with its dev tools

lock: $(UV) ## refresh requirements/*.txt (the exact pins) within pyproject.toml's ranges
	$(UV) pip compile pyproject.toml --extra server --extra tracing $(LOCK_ARGS) --upgrade -o $(RUN_LOCK)
	$(UV) pip compile requirements/uv.in $(LOCK_ARGS) --upgrade -o requirements/uv.txt
	$(UV) pip compile pyproject.toml --extra server --extra dev --extra bench --extra docs $(LOCK_ARGS) \
		--upgrade -c $(RUN_LOCK) -o $(DEV_LOCK)

# The web dashboard (web/ -> src/conveyor/ui, never committed): Node.js 20.19 or later.
WEBBUILD := python3 src/conveyor/cli/webbuild.py

web: ## build the web dashboard (npm ci when needed; skipped when the build is up to date)
	$(WEBBUILD)

web-deps:
	$(WEBBUILD) --deps

web-check: web-deps ## lint, type-check and unit-test the web dashboard
	npm --prefix web run check
	npm --prefix web test

up: $(RUN_STAMP) ## set up and start Conveyor here: server + 2 local agents on SQLite
	$(WEBBUILD) --if-missing
	$(VENV)/bin/conveyor up $(UP_ARGS)

check: lint typecheck web-check ## ruff + mypy --strict + the web dashboard's checks

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# The agent and the SDK run on Windows and macOS too: their other code paths are
# type-checked here (conveyor/agent/platform), though only Linux runs them.
typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --platform win32 -p conveyor.agent -p conveyor.sdk
	$(VENV)/bin/mypy --platform darwin -p conveyor.agent -p conveyor.sdk

openapi: $(STAMP) ## write openapi.json, the API contract, from the app (commit it with the change)
	$(PY) -m conveyor.api.contract openapi.json

test: $(STAMP) $(HELM) ## set up and run the checks, the docs build and the whole test suite (SQLite + PostgreSQL)
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory web
	$(PY) -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-browser

# Their own pytest run: the sync Playwright API leaves an event loop running that the
# asyncio tests after it would trip over.
test-browser: $(STAMP) ## the browser tests: headless Chromium against a real server and agents
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

$(HELM):
	deploy/tools/install-helm $(VENV)/bin

test-deploy: $(STAMP) $(HELM) ## the static checks of the Dockerfile, compose.yaml, the Helm chart and every YAML file
	$(PY) -m pytest tests/deploy -q $(PYTEST_ARGS)

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -c $(DEV_LOCK) -e '.[server,dev,docs]'
	touch $(DOCS_STAMP)

# Never --quiet: it hides the warnings that --strict counts, and nothing fails.
docs: $(DOCS_STAMP) ## build the docs site into site/ (MkDocs, Material); a broken link fails it
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

chaos: $(STAMP) ## the fault scenarios at full size; prints each scenario's recovery time
	CONVEYOR_CHAOS_SCALE=full $(PY) -m pytest tests/chaos -q $(PYTEST_ARGS)

CONVEYOR_SOAK_S ?= 1800
soak: $(STAMP) ## the soak on a lossy link for CONVEYOR_SOAK_S seconds (30 min); prints its figures
	CONVEYOR_SOAK_S=$(CONVEYOR_SOAK_S) $(PY) -m pytest tests/chaos -m soak -q $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP) ## fuzz the whole API longer than CI does (FUZZ_EXAMPLES per operation and mode)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/api/test_fuzz.py $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP) $(DEV_LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -c $(DEV_LOCK) -e '.[server,dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## end to end: server + 2 agents on SQLite and PostgreSQL vs Celery/Redis; first start
	$(PY) -m bench.e2e $(BENCH_ARGS)
	$(PY) -m bench.first_start

bench-first-start: $(STAMP) ## clone, run the README's `make up`, time the banner: fresh clone and second start
	$(PY) -m bench.first_start $(BENCH_ARGS)

bench-engine: $(STAMP) ## engine throughput and claim latency on SQLite and PostgreSQL
	$(PY) -m bench.engine $(BENCH_ARGS)

bench-web: $(STAMP) ## the dashboard in headless Chromium: every bench/web_*.py (jobs page, log)
	$(WEBBUILD)
	$(PY) -m bench.web $(BENCH_ARGS)

bench-api: $(STAMP) ## the jobs list API over 1,000,000 jobs on SQLite and PostgreSQL (p50/p95)
	$(PY) -m bench.jobs_api $(BENCH_ARGS)

bench-stats: $(STAMP) ## GET /api/v1/stats over 1,000,000 jobs of the last day on SQLite and PostgreSQL
	$(PY) -m bench.stats $(BENCH_ARGS)

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
