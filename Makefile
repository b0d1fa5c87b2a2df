# The two quick-start targets each do their own set-up: a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tandem serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check tandem tests
	$(BIN)/ruff format --check tandem tests
	$(BIN)/mypy tandem

format: $(STAMP)
	$(BIN)/ruff format tandem tests
	$(BIN)/ruff check --fix tandem tests

schema: $(STAMP)
	$(BIN)/tandem export-openapi > openapi.json
	$(BIN)/tandem export-schema > schema.graphql

clean:
	rm -rf $(VENV) build *.egg-info
