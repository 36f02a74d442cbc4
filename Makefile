# Everything a developer and CI run. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: help venv web web-deps web-check up test test-browser chaos fuzz check lint typecheck openapi soak bench bench-engine bench-api bench-web clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create the virtual environment and install Conveyor with its dev tools

# The web dashboard (web/ -> src/conveyor/ui, never committed): Node.js 20.19 or later.
WEBBUILD := python3 src/conveyor/cli/webbuild.py

web: ## build the web dashboard (npm ci when needed; skipped when the build is up to date)
	$(WEBBUILD)

web-deps:
	$(WEBBUILD) --deps

web-check: web-deps ## lint, type-check and unit-test the web dashboard
	npm --prefix web run check
	npm --prefix web test

up: $(STAMP) ## set up and start Conveyor here: server + 2 local agents on SQLite
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

test: $(STAMP) ## set up and run the checks and the whole test suite (SQLite + PostgreSQL)
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory web
	$(PY) -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-browser

# Their own pytest run: the sync Playwright API leaves an event loop running that the
# asyncio tests after it would trip over.
test-browser: $(STAMP) ## the browser tests: headless Chromium against a real server and agents
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

chaos: $(STAMP) ## the fault scenarios at full size; prints each scenario's recovery time
	CONVEYOR_CHAOS_SCALE=full $(PY) -m pytest tests/chaos -q $(PYTEST_ARGS)

CONVEYOR_SOAK_S ?= 1800
soak: $(STAMP) ## the soak on a lossy link for CONVEYOR_SOAK_S seconds (30 min); prints its figures
	CONVEYOR_SOAK_S=$(CONVEYOR_SOAK_S) $(PY) -m pytest tests/chaos -m soak -q $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP) ## fuzz the whole API longer than CI does (FUZZ_EXAMPLES per operation and mode)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/api/test_fuzz.py $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## end to end: server + 2 agents on SQLite and PostgreSQL vs Celery/Redis
	$(PY) -m bench.e2e $(BENCH_ARGS)

bench-engine: $(STAMP) ## engine throughput and claim latency on SQLite and PostgreSQL
	$(PY) -m bench.engine $(BENCH_ARGS)

bench-web: $(STAMP) ## the dashboard in headless Chromium: every bench/web_*.py (jobs page, log)
	$(WEBBUILD)
	$(PY) -m bench.web $(BENCH_ARGS)

bench-api: $(STAMP) ## the jobs list API over 1,000,000 jobs on SQLite and PostgreSQL (p50/p95)
	$(PY) -m bench.jobs_api $(BENCH_ARGS)

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
