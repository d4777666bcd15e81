# Set-up and entry points. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.9
LANDING ?= data/landing
WAREHOUSE ?= data/warehouse.duckdb
CUSTOMERS ?= 10000
# where the billing tables come from: native (the raw contract's files), stripe or chargebee
SOURCE ?= native
DEV_PORT ?= 3000
# Spark (the `spark` extra) lives in its own venv, built from its own lock
SPARK_VENV := .venv-spark
SPARK_BIN := $(SPARK_VENV)/bin
SPARK_STAMP := $(SPARK_VENV)/.installed-$(shell cat requirements-spark.lock pyproject.toml | cksum | cut -d' ' -f1)
SPARK_DIR ?= data/spark
# a DuckDB 1.0 client (its own venv, its own lock): the test that BI tools on DuckDB 1.x open the
# published file
DUCKDB1_VENV := .venv-duckdb1
DUCKDB1_STAMP := $(DUCKDB1_VENV)/.installed-$(shell cat requirements-duckdb1.lock | cksum | cut -d' ' -f1)
DUCKDB1_PIN := duckdb==1.0.0
# Apache Superset on the published file (its own venv, its own lock; README, "Reading it from a
# BI tool"). Superset 6.1's packaging gaps are filled here: its CLI imports rich and its engine
# specs cachetools, neither declared; and its flask-caching range resolves to 2.5, which passes
# ignore_delete_many_errors to Superset's metastore cache, a TypeError at start (2.3.1 works)
SUPERSET_VENV := .venv-superset
SUPERSET_BIN := $(SUPERSET_VENV)/bin
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed-$(shell cat requirements-superset.lock | cksum | cut -d' ' -f1)
SUPERSET_PINS := apache-superset==6.1.0 duckdb-engine==0.17.0 duckdb==2.0.1 \
	flask-caching==2.3.1 rich==15.0.0 cachetools==8.0.2
SUPERSET_PORT ?= 8088
# its metadata (SQLite) and generated secret key; the admin login is for local use only
SUPERSET_DIR ?= data/superset
SUPERSET_ADMIN_USER ?= admin
SUPERSET_ADMIN_PASSWORD ?= admin
SUPERSET_ENV := SUPERSET_CONFIG_PATH=$(abspath subscriber_warehouse/superset/superset_config.py) \
	SUPERSET_HOME=$(abspath $(SUPERSET_DIR))
SPARK_ENV := SPARK_LOCAL_IP=127.0.0.1 SW_SPARK_DIR=$(abspath $(SPARK_DIR))

.PHONY: setup browser duckdb1-client run test lint lock dev clean spark-setup spark-run test-spark \
	superset-setup superset-bootstrap superset

setup: $(STAMP)

# The report test drives Debian's chromium through playwright (playwright downloads no browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on the CI machines) Python never caches
# what it compiles, and every process (each dbt call, each test) compiled its imports again:
# dagster + dagster-dbt + great-expectations imported in 15.7 s, 7.9 s from the installed .pyc
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

duckdb1-client: $(DUCKDB1_STAMP)

$(DUCKDB1_STAMP): requirements-duckdb1.lock $(STAMP)
	test -x $(DUCKDB1_VENV)/bin/python || $(PYTHON) -m venv $(DUCKDB1_VENV)
	$(BIN)/uv pip install -q --python $(DUCKDB1_VENV)/bin/python -r requirements-duckdb1.lock
	rm -f $(DUCKDB1_VENV)/.installed-* && touch $@

superset-setup: $(SUPERSET_STAMP)

# its own uv (as .venv-spark): a change to the project's lock never rebuilds Superset's venv
$(SUPERSET_STAMP): requirements-superset.lock
	test -x $(SUPERSET_BIN)/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(SUPERSET_BIN)/uv pip install -q --compile-bytecode --python $(SUPERSET_BIN)/python \
		-r requirements-superset.lock
	rm -f $(SUPERSET_VENV)/.installed-* && touch $@

# The published warehouse in Superset: the metadata migrated, the admin created (when missing),
# the file registered read-only with every mart as a dataset, and the starter dashboard; each step
# updates what an earlier run made. `make superset` then serves it on 127.0.0.1:$(SUPERSET_PORT).
# (the password reaches bootstrap.py in its environment, never on a command line make echoes)
superset-bootstrap: export SUPERSET_ADMIN_PASSWORD := $(SUPERSET_ADMIN_PASSWORD)
superset-bootstrap: superset-setup
	@test -f $(WAREHOUSE) || (echo "$(WAREHOUSE) does not exist: make run builds it" >&2; exit 1)
	$(SUPERSET_ENV) $(SUPERSET_BIN)/superset db upgrade
	$(SUPERSET_ENV) $(SUPERSET_BIN)/superset init
	$(SUPERSET_ENV) $(SUPERSET_BIN)/python subscriber_warehouse/superset/bootstrap.py \
		--warehouse $(abspath $(WAREHOUSE)) --admin-user '$(SUPERSET_ADMIN_USER)'

superset: superset-bootstrap
	@echo "Superset: http://127.0.0.1:$(SUPERSET_PORT)/ (log in as $(SUPERSET_ADMIN_USER))"
	$(SUPERSET_ENV) $(SUPERSET_BIN)/superset run -h 127.0.0.1 -p $(SUPERSET_PORT) --with-threads

run: setup
	@if [ -z "$$(ls -A $(LANDING) 2>/dev/null)" ]; then \
		echo "$(LANDING) is empty: generating sample data for $(CUSTOMERS) customers ($(SOURCE))"; \
		$(BIN)/subscriber-warehouse generate --customers $(CUSTOMERS) --out $(LANDING) \
			$(if $(filter-out native,$(SOURCE)),--format $(SOURCE)); \
	fi
	$(BIN)/subscriber-warehouse run --source $(SOURCE) --landing $(LANDING) --warehouse $(WAREHOUSE)

# a billing source's models compile only when it is the run's source: each is linted with it
lint: setup
	SW_WAREHOUSE=$${TMPDIR:-/tmp}/sw-lint.duckdb $(BIN)/sqlfluff lint dbt_project/models
	for source in stripe chargebee; do \
		SW_BILLING_SOURCE=$$source SW_WAREHOUSE=$${TMPDIR:-/tmp}/sw-lint.duckdb \
			$(BIN)/sqlfluff lint dbt_project/models/staging/$$source || exit 1; \
	done
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# a worker per core (pytest-xdist), a test file per worker at a time: a file's module fixtures
# (one pipeline run shared by its tests) are built once
test: lint browser duckdb1-client superset-setup
	$(BIN)/pytest -n auto --dist loadfile --durations=25

# Re-resolve the lock files after changing a pin in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 --generate-hashes --no-header \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra spark -p 3.11 --generate-hashes --no-header \
		-o requirements-spark.lock
	echo "$(DUCKDB1_PIN)" | $(BIN)/uv pip compile - -p 3.11 --generate-hashes --no-header \
		-o requirements-duckdb1.lock
	printf '%s\n' $(SUPERSET_PINS) | $(BIN)/uv pip compile - -p 3.11 --generate-hashes \
		--no-header -o requirements-superset.lock

# Spark: the project with the `spark` extra (dbt-spark, pyspark) in .venv-spark. Needs Java 17+.
spark-setup: $(SPARK_STAMP)

$(SPARK_STAMP): requirements-spark.lock pyproject.toml
	@command -v java >/dev/null || (echo "Spark needs Java 17 or later on PATH" >&2; exit 1)
	test -x $(SPARK_BIN)/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(SPARK_BIN)/uv pip install -q --compile-bytecode --python $(SPARK_BIN)/python \
		-r requirements-spark.lock
	$(SPARK_BIN)/uv pip install -q --python $(SPARK_BIN)/python --no-deps -e .
	rm -f $(SPARK_VENV)/.installed-* && touch $@

# The landing files loaded into Spark (database raw under SPARK_DIR), then the Spark selector
# of the dbt project (README, "Running on Spark").
spark-run: spark-setup
	@if [ -z "$$(ls -A $(LANDING) 2>/dev/null)" ]; then \
		echo "$(LANDING) is empty: generating sample data for $(CUSTOMERS) customers"; \
		$(SPARK_BIN)/subscriber-warehouse generate --customers $(CUSTOMERS) --out $(LANDING); \
	fi
	$(SPARK_ENV) $(SPARK_BIN)/subscriber-warehouse spark-load --landing $(LANDING) \
		--spark-dir $(SPARK_DIR)
	$(SPARK_ENV) SW_DBT_TARGET=spark $(SPARK_BIN)/dbt build --selector spark

# Only the Spark equivalence test (marker spark; `make test` leaves it out).
test-spark: spark-setup
	$(SPARK_ENV) $(SPARK_BIN)/pytest -m spark tests/test_spark_equivalence.py

dev: setup
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(DEV_PORT)

clean:
	rm -rf data target logs dbt_packages .pytest_cache
