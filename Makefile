# Rupor — the two commands:  make run   (set up and start the offline demo)
#                             make test  (set up and run the whole test suite)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test lint setup clean pds

# mypy runs strict on everything but the tests; the tests get a second run that lets pytest
# fixtures go unannotated (pyproject.toml [tool.mypy] says why).
MYPY_TESTS = --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls

$(BIN)/rupor: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(BIN)/rupor

setup: $(BIN)/rupor

# Another port when 8000 (or the emulators' 8901-8913) is taken: make run PORT=8011 DEMO_PORT_BASE=8921
PORT           ?= $(or $(RUPOR_PORT),8000)
DEMO_PORT_BASE ?= $(or $(RUPOR_DEMO_PORT_BASE),8901)

run: setup
	$(BIN)/rupor demo
	$(BIN)/rupor serve --demo --port $(PORT) --demo-port-base $(DEMO_PORT_BASE)

test: setup
	$(BIN)/pytest

# The reference Bluesky PDS (npm @atproto/pds with its own Node 22) for the interop test; cached
# under ~/.cache/rupor/pds by tools/pds/package-lock.json, so a second run is instant.
pds:
	tools/pds/setup.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy rupor
	$(BIN)/mypy $(MYPY_TESTS) $$(find rupor -name 'test_*.py' -o -name conftest.py)

clean:
	rm -rf $(VENV) build *.egg-info
