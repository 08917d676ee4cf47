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

.PHONY: install run test lint format bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock Makefile | $(UV)
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen --quiet
	$(UV) pip install --quiet --python $(BIN)/python --python-version 3.13 --no-deps "$(RAGFLOW_SDK)"
	$(UV) pip install --quiet --target $(VENV)/ragflow-sdk-latest --python $(BIN)/python --python-version 3.13 --no-deps "$(RAGFLOW_SDK_LATEST)"
	touch $@

install: $(VENV)/.installed ## create ./.venv and install the locked dependencies

run: install ## migrate and start the server on http://127.0.0.1:9380 (SQLite in ./data)
	$(BIN)/ragprism db upgrade
	$(BIN)/ragprism serve --no-migrate

test: install ## the whole test suite (SQLite, PostgreSQL, MariaDB, live servers)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff and mypy --strict
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

bench: install ## benchmarks; figures go to docs/benchmarks.md by hand
	@for script in $(filter-out bench/_%,$(wildcard bench/*.py)); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
