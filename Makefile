# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/reauth-bot demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

bench: $(STAMP)
	$(BIN)/python -m bench.reauth_check
	$(BIN)/python -m bench.digest --customers 1000000 --database sqlite --repeat 5
	$(BIN)/python -m bench.imports --authorizations 1000000 --database sqlite
	$(BIN)/python -m bench.outcomes --customers 1000000 --database sqlite --repeat 3

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
