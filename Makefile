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
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format tandem tests
	$(BIN)/ruff check --fix tandem tests

# Tandem against a hand-written floor app, one worker each (bench/, docs/performance.md).
# wrk is installed where we may (root with apt-get); without it a Python client drives the load.
# Options pass through: make bench BENCH_ARGS="--profile" (py-spy flame graphs, installed on demand).
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& timeout 180 apt-get install -y -qq wrk >/dev/null 2>&1; } \
		|| echo "bench: wrk is not installed; the Python load generator will drive the load"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

schema: $(STAMP)
	$(BIN)/tandem export-openapi > openapi.json
	$(BIN)/tandem export-schema > schema.graphql

clean:
	rm -rf $(VENV) build *.egg-info
