# The two commands: `make demo` (the pipeline on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= 0.01

export DO_NOT_TRACK := 1
# Absolute state paths for every tool (dbt's Spark session, the Thrift server, the lake).
export LAKEHOUSE_LOCAL_DIR ?= $(CURDIR)/.local

.PHONY: demo test lint typecheck unit venv mysql bench clean

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed  ## create .venv and install requirements.txt

mysql:  ## use the server at LAKEHOUSE_MYSQL_URL, or start a private one under .local/
	scripts/mysql-local.sh ensure

demo: venv mysql  ## TPC-H at scale $(SCALE): generate, load into MySQL, extract to the lake, dbt build
	$(PY) -m ingest generate-tpch --scale $(SCALE) --out .local/tpch
	$(PY) -m ingest load --dataset tpch --source .local/tpch
	$(PY) -m ingest extract --dataset tpch
	$(VENV)/bin/dbt build --target local

unit: venv mysql
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

test: unit lint typecheck  ## the whole test suite, ruff and mypy

bench: venv mysql  ## benchmarks at TPC-H scale 1 (see README)
	$(PY) bench/bench_load.py --scale 1
	$(PY) bench/bench_extract.py --scale 0.1 1
	$(PY) bench/bench_dbt.py --scale 0.1 1

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
