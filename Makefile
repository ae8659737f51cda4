# Two commands: `make run` (set up everything and serve the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Local runs: DEBUG on, secrets generated into var/ (untracked). Production sets these itself.
export DEBUG ?= 1

.PHONY: run test setup install install-dev migrate demo check clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed" or 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

demo: migrate
	$(BIN)/python manage.py load_geography
	$(BIN)/python manage.py seed_demo --if-empty

setup: demo

run: setup
	@echo ""
	@echo "  AHT Coordination is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password: demo-pass-2026): admin (superuser), asha (NGO caseworker),"
	@echo "  chitra (shelter), kavita (CWC), arjun (AHTU), devi (state reviewer), rahul (state admin),"
	@echo "  sunil (steering committee), omar (outsider) — see README.md for all of them."
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install-dev
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
