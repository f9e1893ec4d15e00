# Uptake: one entry point for setting up, running and checking the project.
#
#   make install   uv (installed if missing) + the locked Python dependencies in .venv
#   make run       the demo: migrate, collect static files, seed demo data, then web server,
#                  task worker and scheduler together (Ctrl-C stops all three)
#   make test      lint, format check, types, then the test suite on SQLite and on PostgreSQL
#   make lint      ruff + format check + mypy        make fmt    format and auto-fix
#   make bench     benchmarks (bench/run.py)
#
# Needs only Python 3.11+, make and bash; `make test` also needs Debian packages for the
# real local services it drives (scripts/ensure-system-packages installs them as root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# scripts/uv finds uv (PATH, ~/.local/bin, python3 -m uv) and installs it with pip if missing.
UV := scripts/uv
UPTAKE_PORT ?= 8000
PYTEST_ARGS ?=
# Python may cache compiled modules (__pycache__, git-ignored) even where the environment says
# not to: every process the suite, the benchmarks or `make run` starts (gunicorn workers, task
# workers, the scheduler) otherwise compiles Django and Uptake again, ~3 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install run test test-sqlite test-postgres lint fmt bench system-packages
.PHONY: xapi-conformance
.PHONY: xapi-conformance-2

help:
	@sed -n '3,11p' Makefile | sed 's/^# \{0,1\}//'

install:
	$(UV) sync --frozen

# The demo sends email to files in var/outbox instead of an SMTP server. Every step runs
# through `honcho run`, so a .env file (see .env.example), if present, applies to all of them.
run: export UPTAKE_EMAIL_BACKEND ?= django.core.mail.backends.filebased.EmailBackend
run: export UPTAKE_PORT := $(UPTAKE_PORT)
run: export UPTAKE_BASE_URL ?= http://127.0.0.1:$(UPTAKE_PORT)
run: install
	$(UV) run honcho run python manage.py migrate --noinput
	$(UV) run honcho run python manage.py collectstatic --noinput --verbosity 0
	$(UV) run honcho run python manage.py seed_demo
	$(UV) run honcho run python manage.py seed_nudge_campaigns
	@echo "Uptake: http://127.0.0.1:$(UPTAKE_PORT)/  (Ctrl-C stops web, worker and scheduler)"
	$(UV) run honcho -f Procfile start

system-packages:
	scripts/ensure-system-packages

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy uptake

fmt: install
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

# The SQLite run ignores any DATABASE_URL from the caller's environment: it is the embedded
# default. The PostgreSQL run starts a throwaway cluster (scripts/with-postgres).
test-sqlite: install
	env -u DATABASE_URL UPTAKE_TESTING=1 $(UV) run pytest $(PYTEST_ARGS)

test-postgres: install system-packages
	UPTAKE_TESTING=1 scripts/with-postgres $(UV) run pytest $(PYTEST_ARGS)

test: install system-packages lint
	@echo "=== tests on SQLite ==="
	env -u DATABASE_URL UPTAKE_TESTING=1 $(UV) run pytest $(PYTEST_ARGS)
	@echo "=== tests on PostgreSQL ==="
	UPTAKE_TESTING=1 scripts/with-postgres $(UV) run pytest $(PYTEST_ARGS)

bench: install
	@if [[ -f bench/run.py ]]; then \
		$(UV) run python bench/run.py; \
	else \
		echo "bench/run.py does not exist yet: nothing to run"; \
	fi

# ADL's LRS conformance suite (xAPI 1.0.3) against a fresh server, when the suite is present
# (LRS_CONFORMANCE_DIR, default ../lrs-conformance; see scripts/xapi-conformance).
xapi-conformance: install
	scripts/xapi-conformance

# The same suite's xAPI 2.0.0 tests (requests sent with X-Experience-API-Version: 2.0.0).
xapi-conformance-2: install
	UPTAKE_XAPI_DEFAULT_VERSION=2.0.0 XAPI_VERSION=2.0.0 XAPI_CONFORMANCE_LOG=/tmp/xapi-conformance-2-last.json scripts/xapi-conformance
