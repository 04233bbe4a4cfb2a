# Himaya — two commands on a fresh machine with Python >= 3.11:
#   make run    virtual environment, install, migrate, demo data, serve on http://127.0.0.1:8000/
#   make test   the whole test suite (SQLite, and PostgreSQL when one is reachable)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HIMAYA := $(BIN)/himaya
HOST ?= 127.0.0.1
PORT ?= 8000
export HIMAYA_HOME ?= $(CURDIR)/var
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2

.PHONY: install run test test-sqlite test-postgres bench demo-user clean

$(BIN)/himaya: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Himaya needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	@command -v g++ >/dev/null 2>&1 || $(BIN)/python -c 'import pdqhash' 2>/dev/null || { echo "Himaya needs a C++ compiler to build pdqhash (Meta's PDQ, published as source only): apt-get install g++" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/himaya

run: install
	$(HIMAYA) migrate --noinput
	$(HIMAYA) demo
	$(HIMAYA) serve --host $(HOST) --port $(PORT)

test: install
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "== tests on SQLite (the embedded default) =="
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# PostgreSQL: required when HIMAYA_REQUIRE_POSTGRES=1 (CI), otherwise run when reachable.
test-postgres:
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(TEST_POSTGRES_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== tests on PostgreSQL ($(TEST_POSTGRES_URL)) =="; \
		DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not browser" $(PYTEST_ARGS); \
	elif [ "$$HIMAYA_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL at $(TEST_POSTGRES_URL) is not reachable" >&2; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(TEST_POSTGRES_URL): skipped the PostgreSQL run (set TEST_POSTGRES_URL) =="; \
	fi

# Each script prints its ratios against a baseline measured in the same run.
# threatexchange and faiss (the PDQ comparison) and openmined-psi (the PSI comparison) are benchmark-only: their own venv.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet numpy==2.4.6 threatexchange==1.2.17 faiss-cpu==1.15.1 openmined-psi==2.0.6 pynacl==1.6.2

bench: install $(BENCH_VENV)/bin/python
	$(BIN)/python bench/bench_intake.py
	PYTHONPATH=$(CURDIR) $(BENCH_VENV)/bin/python bench/bench_pdq.py
	$(BIN)/python bench/bench_triage.py --keep
	$(BIN)/python bench/bench_queue.py
	$(BIN)/python bench/bench_rematch.py
	PYTHONPATH=$(CURDIR) $(BENCH_VENV)/bin/python bench/bench_psi.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_pipeline.py --documents 8000
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_stats.py --reports 1000000
	$(BIN)/python bench/bench_portal.py
	$(BIN)/python bench/bench_hashlist.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) var .pytest_cache
