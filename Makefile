# The README's two commands: `make demo` and `make test`. Both work on a fresh clone with Python 3.11, Node 20, npm.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: demo test lint schema openapi synth clean setup

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || \
		{ echo "needs Python 3.11+ (python3.11 on PATH, or make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	@bash scripts/demo.sh

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/bandit -c pyproject.toml -r sluice functions infra -q

# `cdk synth` for ENV (dev unless `make synth ENV=prod`): cdk-nag runs inside it, then cfn-lint on every template.
ENV ?= dev
synth: setup
	npx --no-install cdk synth -q -c env=$(ENV) --output cdk.out/$(ENV)
	$(BIN)/cfn-lint cdk.out/$(ENV)/*.template.json

schema: setup
	$(BIN)/sluice schema -o docs/pipeline.schema.json

# The run API's OpenAPI document (tests/integration/test_openapi.py fails when it is stale).
openapi: setup
	$(BIN)/python -m functions.api.openapi -o docs/openapi.json

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis build cdk.out *.egg-info
