# Two commands on a fresh Debian 12 (root): `make run` and `make test`. See README.md.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Tests run against the real PostgreSQL and Redis on loopback unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/vmmanager
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-packages host image images tiny-guest rescue-system services system venv lint migrate bootstrap serve container clean

system:
	@bash scripts/system-packages.sh

# The venv is rebuilt only when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | system
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

host: venv
	@bash scripts/host.sh

image:
	@bash scripts/build-image.sh plain

# Both flavours of the demo image: virt-customize (plain) and cloud-init; the tests deploy both.
images:
	@bash scripts/build-image.sh plain >/dev/null
	@bash scripts/build-image.sh cloudinit >/dev/null

# The container image and the PostgreSQL and Redis images compose.yaml uses (podman; docs/containers.md).
container:
	@bash scripts/container-image.sh --with-services

tiny-guest:
	@bash scripts/tiny-guest.sh >/dev/null

# The kernel + initramfs VMs boot into for rescue mode (scripts/rescue-system.sh).
rescue-system:
	@bash scripts/rescue-system.sh >/dev/null

services:
	@bash scripts/services.sh

test-packages:
	@bash scripts/test-packages.sh

migrate: venv
	@$(PY) manage.py migrate --noinput -v 0
	@if $(PY) -c 'import os,sys; sys.exit(0 if os.environ.get("DATABASE_URL") else 1)'; then :; \
	 else $(PY) manage.py migrate --noinput -v 0 --database channels; fi

bootstrap: migrate
	@$(PY) manage.py bootstrap
	@$(PY) manage.py collectstatic --noinput -v 0

serve:
	@exec bash scripts/serve.sh

run: host rescue-system image bootstrap
	@exec bash scripts/serve.sh

# ruff, then the import contracts in pyproject.toml (apps' layers: docs/architecture.md).
lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/lint-imports

test: host rescue-system services test-packages tiny-guest images lint
	@$(PY) manage.py check
	@env -u DATABASE_URL -u REDIS_URL VMM_DATA_DIR=$$(mktemp -d) $(PY) manage.py makemigrations --check --dry-run
	@TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) bash scripts/test-lanes.sh $(PYTEST_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
