# Senim: `make run` serves the app on demo data; `make test` runs every test;
# `make test-fast` is the quick loop (no browser, SQLite only, no slow tests).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test test-fast lint format bench bench-quick bench-load bench-extra clean-db help

help:
	@echo "make run   - install, create the database with demo data, serve on http://localhost:$(PORT)"
	@echo "make test  - install test tools, lint, run every test (SQLite, PostgreSQL, browser)"
	@echo "make test-fast - the quick loop: no browser, SQLite only, no tests marked slow"
	@echo "make bench - every figure of issue 11 at 100k/1M/10M beside the previous design at 1M (~45 min)"
	@echo "make bench-quick - the same at 100k only, short load, no ingest or demo build (a smoke run)"
	@echo "make bench-load - the websocket load alone: 50 sessions x 180 s at 1M (SIZE=, SESSIONS=, SECONDS=)"

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m queries setup
	$(PY) -m streamlit run dashboard/serve.py --server.port $(PORT)

test: $(VENV)/.installed-dev
	bash scripts/install-test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Deselects browser (e2e) and slow tests and every test that needs PostgreSQL (--sqlite-only,
# tests/conftest.py); two workers, as on the 2-core build machine.
test-fast: $(VENV)/.installed-dev
	$(PY) -m pytest -p no:cacheprovider -q -n 2 --sqlite-only -m "not e2e and not slow" \
		--ignore=tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed-dev
	$(PY) bench/figures.py

bench-quick: $(VENV)/.installed-dev
	$(PY) bench/figures.py --sizes 100000 --before-size 100000 --sessions 10 \
		--load-seconds 20 --repeats 1 --steps 3 --skip demo ingest

SIZE ?= 1000000
SESSIONS ?= 50
SECONDS ?= 180
bench-load: $(VENV)/.installed-dev
	$(PY) bench/bench_ws_load.py --size $(SIZE) --sessions $(SESSIONS) --seconds $(SECONDS)

bench-extra: $(VENV)/.installed-dev
	$(PY) bench/bench_metrics.py
	$(PY) bench/bench_scale.py
	$(PY) bench/bench_browser.py --variants

clean-db:
	rm -f var/senim.db var/senim.db-wal var/senim.db-shm
