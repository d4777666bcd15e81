# Set-up and entry points. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.9
LANDING ?= data/landing
WAREHOUSE ?= data/warehouse.duckdb
CUSTOMERS ?= 10000

.PHONY: setup browser run test lint lock dev clean

setup: $(STAMP)

# The report test drives Debian's chromium through playwright (playwright downloads no browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

run: setup
	@if [ -z "$$(ls -A $(LANDING) 2>/dev/null)" ]; then \
		echo "$(LANDING) is empty: generating sample data for $(CUSTOMERS) customers"; \
		$(BIN)/subscriber-warehouse generate --customers $(CUSTOMERS) --out $(LANDING); \
	fi
	$(BIN)/subscriber-warehouse run --landing $(LANDING) --warehouse $(WAREHOUSE)

lint: setup
	SW_WAREHOUSE=$${TMPDIR:-/tmp}/sw-lint.duckdb $(BIN)/sqlfluff lint dbt_project/models
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser
	$(BIN)/pytest

# Re-resolve the lock file after changing a pin in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 --generate-hashes --no-header \
		-o requirements.lock

dev: setup
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf data target logs dbt_packages .pytest_cache
