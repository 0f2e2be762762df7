# The two commands: `make run` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CONTACTS ?= 5000
DEMO_COMPANIES ?= 1000
DEMO_SEED ?= 7
TENANT ?= demo
# Test processes (pytest-xdist): the suite is sized for this project's 2-core machines.
TEST_WORKERS ?= 2
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test ui lint bootstrap clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

bootstrap: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/crm-hygiene demo --contacts $(DEMO_CONTACTS) --companies $(DEMO_COMPANIES) --seed $(DEMO_SEED) --tenant $(TENANT)
	$(BIN)/crm-hygiene run --tenant $(TENANT)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev

clean:
	rm -rf $(VENV) .crm_hygiene $(DAGSTER_HOME)
