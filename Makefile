# sentiment-mlops: `make run` trains on the local stack, `make test` runs the suite.
# Both do the whole set-up first (idempotent, quick the second time).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Telemetry off for every command: ZenML otherwise waits on DNS for its analytics host.
export ZENML_ANALYTICS_OPT_IN := false
export BENTOML_DO_NOT_TRACK := true
export AUTO_OPEN_DASHBOARD := false

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
STATE := .state
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k data -x"`.
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (one per core here; 0 runs in this process). Each test
# module stays in one worker, and the cluster/podman tests share one (tests/conftest.py).
TEST_WORKERS ?= 2

.PHONY: help setup run test test-fast lint audit docs system-deps clean-state cluster cluster-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# uv in its own small venv: no system-wide install, pinned version.
$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The project venv, exactly as locked (re-synced when the lock or pyproject changes).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# The venv plus the `docs` dependency group (not a default group: see pyproject.toml). The plain
# sync above removes the group, so this one re-runs whenever that one ran (a new lock), and
# `make test` after `make docs` keeps it.
$(VENV)/.synced-docs: $(VENV)/.synced
	$(UV) sync --frozen --compile-bytecode --group docs
	@touch $@

# ZenML repository root (step sources resolve relative to it).
.zen: | $(VENV)/.synced
	$(VENV)/bin/zenml init >/dev/null
	@echo "initialised ZenML in $(CURDIR)"

# The local stack, re-registered when its file changes.
$(STATE)/local-stack.registered: stacks/local.yaml | $(VENV)/.synced .zen
	@mkdir -p $(STATE)
	$(PY) run.py stack register local --activate
	@touch $@

setup: $(VENV)/.synced .zen $(STATE)/local-stack.registered ## create .venv, init ZenML, register the local stack

run: setup ## set up, then train, evaluate, register and promote on the local stack
	$(PY) run.py train --stack local --summary-json $(STATE)/last-training.json

test: setup ## set up, then run the whole test suite
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The edit loop: no server, container, cluster or real 50k-review archive (markers in
# pyproject.toml); the rest of the suite is what `make test` adds.
test-fast: setup ## the unit tests only (no servers, containers or real data), for the edit loop
	$(PY) -m pytest -m "not integration and not real_data" $(PYTEST_ARGS)

lint: setup ## ruff, mypy and the import layers (import-linter, pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

audit: $(VENV)/.synced ## pip-audit over uv.lock; accepted findings: security/pip-audit-ignore.txt
	$(PY) security/audit.py

cluster: $(VENV)/.synced ## build (once per machine) and start a single-node Kubernetes on 127.0.0.1
	$(PY) -m local_cluster up

cluster-down: $(VENV)/.synced ## stop the local Kubernetes (by PID) and restore the host
	$(PY) -m local_cluster down

# Strict: any warning (a broken internal link or anchor, a module mkdocstrings cannot render)
# fails the build. NO_MKDOCS_2_WARNING silences Material's end-of-life banner on every build.
docs: $(VENV)/.synced-docs ## build the docs site (MkDocs Material, strict) into site/
	NO_MKDOCS_2_WARNING=true $(VENV)/bin/mkdocs build --strict --site-dir site

system-deps: ## install the Debian packages the integration tests need (podman, prometheus, chromium)
	bash .ci/system-deps.sh

clean-state: ## delete local runs, models and artifacts (.state); keeps .venv
	rm -rf $(STATE)
