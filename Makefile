# Help desk: everyday commands. See README.md for what each one needs.
#
#   make run      fresh machine to a working help desk with demo data (SQLite, no services)
#   make test     lint, then the whole suite on real PostgreSQL, Redis, a Celery worker and Chromium
#   make lint     ruff
#   make migrate  apply database migrations
#   make worker   a Celery worker (needs REDIS_URL)
#   make beat     Celery beat (needs REDIS_URL)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 8000
DEBUG   ?= 1
CHROMIUM ?= /usr/bin/chromium
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k login -x"
PYTEST_ARGS ?=

.PHONY: help install run migrate seed test lint browser worker beat clean

help:
	@echo "make run      start the help desk with demo data on http://$(HOST):$(PORT)/agent/"
	@echo "make test     lint and run the whole test suite (PostgreSQL, Redis, Celery, Chromium)"
	@echo "make lint     ruff check"
	@echo "make migrate  apply database migrations"
	@echo "make worker   run a Celery worker;  make beat   run Celery beat"
	@echo "make bench    generate 1,000,000 tickets once and run every benchmark (bench/results.md)"

# The virtualenv and packages, reinstalled only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)
	@$(PYTHON) manage.py compile_translations

migrate: install
	$(PYTHON) manage.py migrate --noinput

run: install
	@DEBUG=$(DEBUG) $(PYTHON) manage.py migrate --noinput
	@DEBUG=$(DEBUG) SITE_URL=http://$(HOST):$(PORT) $(PYTHON) manage.py seed_demo --if-empty
	@echo
	@echo "Help desk: http://$(HOST):$(PORT)/agent/   (Ctrl-C to stop)"
	@echo
	@DEBUG=$(DEBUG) $(PYTHON) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .

# Debian's Chromium for the browser tests (Playwright cannot download a browser here), and
# Dovecot for the IMAP tests (a throwaway server per test run).
browser:
	@if [ ! -x $(CHROMIUM) ]; then scripts/apt-install.sh chromium; fi
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		scripts/apt-install.sh dovecot-core dovecot-imapd; fi

# PostgreSQL and Redis come from DATABASE_URL / REDIS_URL, the usual loopback ports, or
# throwaway servers that scripts/test-services.sh starts and stops around the run.
test: install browser lint
	@set -euo pipefail; \
	source scripts/test-services.sh; \
	HELPDESK_TEST_REQUIRE_POSTGRES=1 HELPDESK_CHROMIUM=$(CHROMIUM) \
		$(PYTHON) -m pytest $(PYTEST_ARGS)

define need_broker
	@if [ -z "$${REDIS_URL:-}$${CELERY_BROKER_URL:-}" ]; then \
		echo "error: set REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it make run does" >&2; \
		echo "       the background work in-process and no separate $(1) is needed." >&2; \
		exit 1; \
	fi
endef

worker: install
	$(call need_broker,worker)
	$(VENV)/bin/celery -A helpdesk worker -l info

beat: install
	$(call need_broker,beat)
	@mkdir -p var
	$(VENV)/bin/celery -A helpdesk beat -l info --schedule var/celerybeat-schedule

clean:
	rm -rf test-artifacts .pytest_cache .ruff_cache

# Every benchmark against a generated database (bench/run_all.py; bench/results.md). The
# data (BENCH_TICKETS, default 1,000,000) is generated once and reused; BENCH_QUICK=1 for a
# smoke run, e.g. make bench BENCH_TICKETS=2000 BENCH_QUICK=1. BENCH_DATABASE_URL picks the
# database (default postgres://postgres@127.0.0.1:5432/bench_<tickets>, created if missing).
BENCH_TICKETS ?= 1000000
.PHONY: bench
bench: install
	BENCH_TICKETS=$(BENCH_TICKETS) $(PYTHON) bench/run_all.py $(if $(BENCH_QUICK),--quick,)
