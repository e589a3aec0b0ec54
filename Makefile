# Comeback: `make run` starts everything on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` only: the embedded defaults, with recovery links, email images and the demo's
# product images pointing at this server. `make test` uses config.settings.test (pyproject).
RUN_ENV := DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} \
	COMEBACK_PUBLIC_URL=$${COMEBACK_PUBLIC_URL:-http://127.0.0.1:$(PORT)} \
	COMEBACK_VAR_DIR=$${COMEBACK_VAR_DIR:-$(CURDIR)/var} PORT=$(PORT)

# Django 6.1 needs Python 3.12+: take the first interpreter that is new enough.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: run test install lint format security doctor load clean-data messages

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Comeback needs Python 3.12 or newer (Django 6.1)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,test,security]'
	@touch $@

install: $(BIN)/.installed

run: install
	@mkdir -p "$${COMEBACK_VAR_DIR:-$(CURDIR)/var}"
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo --once --automation-history
	@echo ""
	@echo "  Comeback is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Log in with user 'demo', password 'demo' (the admin is at /admin/)."
	@echo "  Web server, worker and scheduler are restarted whenever one dies (deploy/local/supervisord.conf)."
	@echo "  Ctrl-C stops them all."
	@echo ""
	@$(RUN_ENV) $(BIN)/supervisord -c deploy/local/supervisord.conf

test: install
	env -u DJANGO_SETTINGS_MODULE $(BIN)/python -m pytest

# The buyer's languages (locale/): refresh the catalogues after changing a translated string, translate,
# then compile. The .mo files are committed, so `make test` and a deploy need no gettext tools.
messages: install
	$(BIN)/python manage.py makemessages -l fr -l de -l es -l ja --ignore=.venv --ignore=tests --ignore=var --ignore=static --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The CI security gate: check --deploy, bandit, pip-audit, ruff.
security: install
	bash .ci/security

# What is wrong with this install's configuration and services, in plain words.
doctor: install
	$(BIN)/python manage.py doctor

# The bounded load test on loopback (docs/load-test.md): needs PostgreSQL and Redis on this
# machine; recreates the database comeback_load. Options: make load LOAD_ARGS="--duration 120".
load: install
	$(BIN)/python -m pip install --quiet -e '.[load]'
	env -u DJANGO_SETTINGS_MODULE $(BIN)/python tests/load/run.py $(LOAD_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-data:
	rm -rf var
