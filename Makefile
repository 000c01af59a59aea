# The commands people type. Each area adds its own targets in mk/<area>.mk; this file holds what
# they share: the virtualenv, the test entry point and the linters.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Builds and downloads live outside the repository, keyed by version (README: "Caches").
export PAASMAS_CACHE ?= $(HOME)/.cache/paasmas

.PHONY: help venv test unit lint test-prereqs
help:
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

venv: $(VENV)/.installed ## Python virtualenv with the pinned packages
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Areas add what the full test run needs (toolchain, local cloud, host lab) as prerequisites.
test-prereqs: venv

test: test-prereqs ## everything: builds, local cloud, host lab, then every test
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv ## fast tests only: config, planning, components under mocks
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

lint: venv ## ruff and mypy (strict) over every Python module of the project
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

include $(sort $(wildcard mk/*.mk))
