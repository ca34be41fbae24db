# Two commands do all the set-up: `make run` and `make test` (`make test-fast` for the quick loop).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: setup run build test test-fast lint clean demo-data

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

## Build the warehouse on the bundled demo data and say where the results are.
run: setup
	$(BIN)/lifecycle run

## Run every test: dbt unit and data tests (inside pytest) and the Python tests, in TEST_WORKERS pytest
## workers (pytest-xdist; default 2, one per core here: most of a test's time is one dbt process).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

## The quick loop, under 3 minutes on 2 quiet cores: one dbt build of the demo data with every unit
## and data test, the pandas oracle on 3 random inputs (a failure is reported unshrunk), and the tests
## needing no build of their own. It leaves out the tests marked slow (more dbt builds, the benchmark),
## pipeline (`lifecycle run`, the bad-input corpus) and engines (PostgreSQL, Spark); docs/testing.md.
test-fast: setup
	ORACLE_EXAMPLES=3 ORACLE_SHRINK=0 $(BIN)/pytest -m "not slow and not engines and not pipeline"

lint: setup
	$(BIN)/ruff check scripts tests benchmark
	$(BIN)/ruff format --check scripts tests benchmark

## Regenerate the demo seeds (deterministic).
demo-data: setup
	$(BIN)/lifecycle generate --demo --out seeds

clean:
	rm -rf $(VENV) target logs lifecycle.duckdb lifecycle.duckdb.wal lifecycle_dev.duckdb lifecycle_dev.duckdb.wal lifecycle_report.html
