# ragprism — the README's commands. Everything installs itself into ./.venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
# The end-to-end tests drive the server with RAGFlow's own client. 0.24.0 is the last
# release speaking the HTTP API that docs/api.md follows; it declares Python >= 3.12 only
# because of its packaging (the code runs on 3.11), so it cannot be in uv.lock: it is
# installed without dependencies, which the dev group locks (requests, beartype).
RAGFLOW_SDK := ragflow-sdk==0.24.0
# The latest release speaks a later RAGFlow chat API (see docs/api.md, "Clients"); it cannot
# share the venv with 0.24.0, so it goes into its own directory, which the end-to-end test
# puts on the path of the subprocess that runs its flow.
RAGFLOW_SDK_LATEST := ragflow-sdk==0.27.3
BIN := $(VENV)/bin
PYTEST_ARGS ?=
LINT_PATHS := src tests $(wildcard bench)

# The web app (web/): npm ci from the lock file, then the production build into web/dist,
# which `ragprism serve` serves at /. Both are file targets: they rerun when the lock file or
# a source changes.
NPM ?= npm
WEB := web
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html \
	$(WEB)/vite.config.ts $(WEB)/tsconfig.json

.PHONY: install run test lint format bench screenshots clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock Makefile | $(UV)
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen --quiet
	$(UV) pip install --quiet --python $(BIN)/python --python-version 3.13 --no-deps "$(RAGFLOW_SDK)"
	$(UV) pip install --quiet --target $(VENV)/ragflow-sdk-latest --python $(BIN)/python --python-version 3.13 --no-deps "$(RAGFLOW_SDK_LATEST)"
	touch $@

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	$(NPM) --prefix $(WEB) ci --no-audit --no-fund --loglevel=error

$(WEB)/.build-stamp: $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	$(NPM) --prefix $(WEB) run build
	touch $@

install: $(VENV)/.installed $(WEB)/.build-stamp ## ./.venv with the locked dependencies, and the web app built

run: install ## migrate and serve the web app and the API on http://127.0.0.1:9380 (SQLite in ./data)
	$(BIN)/ragprism db upgrade
	$(BIN)/ragprism serve --no-migrate

test: install ## the whole test suite (web components, SQLite, PostgreSQL, MariaDB, live servers, browser)
	$(NPM) --prefix $(WEB) test -- --run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff and mypy --strict
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(NPM) --prefix $(WEB) run typecheck

format: install
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

bench: install ## benchmarks; figures go to docs/benchmarks.md by hand
	@for script in $(filter-out bench/_%,$(wildcard bench/*.py)); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

screenshots: install ## docs/img/*.png, taken by the browser journeys of tests/web
	RAGPRISM_TEST_SCREENSHOTS=docs/img $(BIN)/pytest tests/web -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules $(WEB)/dist \
		$(WEB)/.build-stamp
