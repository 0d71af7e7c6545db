# CivicSkills: `make run` (demo site on SQLite) and `make test` (test suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test install translations messages clean bench-exam bench-dashboard

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d app/translations -f >/dev/null

run: install translations
	$(BIN)/flask db upgrade
	$(BIN)/flask content sync
	$(BIN)/flask demo --if-empty --quiet
	SCHEDULER_IN_PROCESS=1 $(BIN)/flask serve-demo --host 127.0.0.1 --port 5000

test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache

# After changing user-facing strings: extract them and merge into the catalogs, then translate zh_Hans_CN.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --project CivicSkills -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

# Exam-day benchmark (not part of `make test`): a fresh PostgreSQL database (BENCH_PG, default
# postgresql+psycopg://postgres@127.0.0.1:5432; database bench_exam, dropped afterwards), gunicorn,
# N candidates at a scaled human pace, then saturated runs beside benchmarks/bare_app.py.
# Example: make bench-exam BENCH_ARGS="--candidates 2000 --pace-scale 0.25". See docs/performance.md.
BENCH_ARGS ?= --candidates 500 --saturate 20
bench-exam: install translations
	$(BIN)/python benchmarks/exam_day.py all $(BENCH_ARGS)

# Dashboard at 100,000 staff (not part of `make test`): builds the large demo city (`flask demo --size large`)
# in the PostgreSQL database bench_dashboard at BENCH_PG (kept and reused; DASHBOARD_ARGS=--rebuild builds
# it again), then times dashboards, drill-downs, person record, and trend, skills map, XLSX export and
# snapshot job where present. See docs/performance.md.
DASHBOARD_ARGS ?=
bench-dashboard: install translations
	$(BIN)/python benchmarks/dashboard.py $(DASHBOARD_ARGS)
