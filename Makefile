# Fieldstock — the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv manages the virtual environment; bootstrap it into .tools/ when it is not on PATH.
UV := $(shell uv --version >/dev/null 2>&1 && echo uv || echo .tools/bin/uv)
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Without DATABASE_URL, a command runs on the embedded PostgreSQL in .pgdata/ (scripts/devdb.py:
# started for the command, stopped when it ends); with it, on that database.
WITH_DB := $(if $(DATABASE_URL),,$(PY) scripts/devdb.py)

.PHONY: help install system-deps run test lint fmt migrate seed bench serve-prod backup restore-drill

help:
	@echo "make run   - install, start the embedded PostgreSQL (.pgdata/), migrate, load demo data, serve http://$(HOST):$(PORT) with the PDF worker beside it"
	@echo "make test  - install and run the whole test suite on the embedded PostgreSQL, or on DATABASE_URL when set"
	@echo "make lint  - ruff check"
	@echo "make bench - the page benchmark on DATABASE_URL (load it first: DEBUG=1 manage.py seed_scale)"
	@echo "make serve-prod - the production topology on this machine (nginx, 2 gunicorn, worker, pgbouncer; needs DATABASE_URL)"
	@echo "make backup WAL_ARCHIVE=/path - a base backup of DATABASE_URL's cluster (+ ledger heads) into backups/"
	@echo "make restore-drill BACKUP=backups/<stamp> - restore it into a fresh cluster, verify_ledger, compare heads"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --quiet

MIGRATE := DEBUG=1 $(PY) manage.py migrate --no-input
# SEED_DEVICES=300 loads a smaller demo (the `make run` test does); the default is 5,000 devices.
SEED := DEBUG=1 HOST=$(HOST) PORT=$(PORT) $(PY) manage.py seed_demo $(if $(SEED_DEVICES),--devices $(SEED_DEVICES))

migrate: install
	$(WITH_DB) bash -c '$(MIGRATE)'

seed: install
	$(WITH_DB) bash -c '$(MIGRATE) && $(SEED)'

# The worker (`db_worker`: it renders the PDFs after commit) runs beside the server; Ctrl-C stops
# the server, the worker with it, then the embedded PostgreSQL.
run: install
	$(WITH_DB) bash -c '$(MIGRATE) && $(SEED) && { DEBUG=1 $(PY) manage.py db_worker & worker=$$!; \
		trap "kill $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
		DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); }'

# Chromium, poppler-utils, fonts, nginx: installed when run as root, else the command is printed.
system-deps:
	@scripts/system-deps

test: install system-deps
	$(WITH_DB) $(PY) -m pytest -n auto $(PYTEST_ARGS)

# The page benchmark (docs/benchmarks.md); DATABASE_URL must hold the seed_scale data set.
bench: install
	scripts/bench

serve-prod: install
	scripts/serve-prod

# Backups (README "Backup and restore"): the server must archive its WAL into WAL_ARCHIVE.
backup: install
	$(PY) scripts/backup.py --dir $(or $(BACKUP_DIR),backups) --wal-archive $(WAL_ARCHIVE)

# RESTORE_ARGS: --target-time "…" or --latest (default: the backup's own restore point).
restore-drill: install
	$(PY) scripts/restore_drill.py $(BACKUP) $(RESTORE_ARGS)

lint: install
	.venv/bin/ruff check .

fmt: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

openapi: install  ## regenerate docs/openapi.yaml (the API schema; a test fails when it drifts)
	DEBUG=1 .venv/bin/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml
