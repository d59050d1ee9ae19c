# The README's two commands are `make serve` and `make test`. On a fresh Debian machine (Python 3.11, Node 20) each sets
# everything up first: .venv/ with the pinned Python packages, node_modules/ from the lock file, the vendored browser
# runtime (Pyodide, mermaid) and the model's wheel. Work already done is skipped (stamp files in .stamps/).
#
#   make serve   build and serve the site at http://127.0.0.1:8000 (rebuilds on edits)
#   make test    build the site, then run every test (model, data, site audit, browser) against it
#   make build   the site in site/ (with site/values.json, the value ledger)
#   make values  recompute the ledger from the Markdown sources without building: build/values.json
#   make pdf     the whole handbook as site/handbook.pdf (printed by Chromium from the print page)
#   make anchors rewrite tests/site/anchors.json, the registry of published anchors, from the built site
#   make bench   compare the model with llm-analysis (separate .venv-bench), then time every calculator in Chromium
#                (cold start and warm recompute); not part of make test
#   make clean   remove what the build made (site/, build/, vendored files, stamps); make distclean also the envs

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMPS := .stamps
VENDOR := widgets/vendor
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export NO_MKDOCS_2_WARNING := 1
export DISABLE_MKDOCS_2_WARNING := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export CHROMIUM

# Everything the site is built from (__pycache__ and the vendored copies are not sources). The list itself is kept in
# a file that changes only when a source is added or deleted, so deleting a page also triggers a rebuild.
SITE_SOURCES := mkdocs.yml $(shell find docs widgets scripts/sitegen companies transcripts \
	-name __pycache__ -prune -o -path '$(VENDOR)' -prune -o -type f -print 2>/dev/null | sort)

.PHONY: help setup vendor wheel build serve test values bench clean distclean browser pdftools pdf anchors FORCE

help:
	@sed -n '1,/^$$/p' Makefile | sed -n 's/^# \{0,1\}//p'

setup: $(STAMPS)/venv $(STAMPS)/npm $(VENDOR)/versions.json

$(STAMPS):
	@mkdir -p $@

$(STAMPS)/venv: requirements.txt pyproject.toml | $(STAMPS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq -r requirements.txt
	$(PY) -m pip install -qq --no-deps --no-build-isolation -e .
	$(PY) -c 'import sizing, sitegen.markers'
	@touch $@

$(STAMPS)/npm: package.json package-lock.json | $(STAMPS)
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is needed: apt-get install -y nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

vendor: $(VENDOR)/versions.json

$(VENDOR)/versions.json: $(STAMPS)/npm $(STAMPS)/venv scripts/vendor_assets.py scripts/sitegen/assets.py
	$(PY) scripts/vendor_assets.py
	@touch $@

# The wheel is a pure py3-none-any zip written by scripts/build_wheel.py (the build embeds the same bytes in the site).
wheel: $(STAMPS)/venv
	$(PY) scripts/build_wheel.py --out build/wheels

$(STAMPS)/sources: FORCE | $(STAMPS)
	@echo '$(SITE_SOURCES)' | tr ' ' '\n' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(STAMPS)/site: $(STAMPS)/venv $(VENDOR)/versions.json $(STAMPS)/sources $(SITE_SOURCES)
	wheel=$$($(PY) scripts/build_wheel.py --out build/wheels) && node scripts/make_snapshot.mjs "$$wheel" build/snapshot
	$(BIN)/mkdocs build --strict --quiet
	@touch $@

build: $(STAMPS)/site

serve: $(STAMPS)/venv $(VENDOR)/versions.json
	$(BIN)/mkdocs serve --strict --dev-addr $(HOST):$(PORT)

# VALUES=- writes the ledger to standard output instead.
VALUES ?= build/values.json
values: $(STAMPS)/venv
	@$(PY) -m sitegen.ledger --out $(VALUES)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$(CHROMIUM)" = /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM). On Debian or Ubuntu: sudo apt-get install -y chromium"; \
		echo "(or point CHROMIUM=/path/to/chromium at another Chromium build; Playwright does not download one)."; \
		exit 1; \
	fi

# poppler-utils (pdftotext, pdfinfo, pdftoppm): the PDF export finds its page numbers with them, the PDF tests read it.
pdftools:
	@if command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null && command -v pdftoppm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's poppler-utils for the PDF"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	else \
		echo "The PDF needs poppler-utils (pdftotext, pdfinfo, pdftoppm). On Debian or Ubuntu: sudo apt-get install -y poppler-utils"; \
		exit 1; \
	fi

# The site is rebuilt (and handbook.pdf with it) when a source changes; the PDF alone when the export script does.
site/handbook.pdf: $(STAMPS)/site scripts/export_pdf.py
	@$(MAKE) --no-print-directory browser pdftools
	$(PY) scripts/export_pdf.py --site site --out $@

pdf: site/handbook.pdf

anchors: $(STAMPS)/site
	$(PY) scripts/anchors.py --site site --write

# Two pytest runs so the browser tests are reported on their own; either failing (or collecting nothing) fails the target.
test: $(STAMPS)/site browser site/handbook.pdf
	@status=0; \
	echo "== model, data and site tests"; \
	$(PY) -m pytest -m "not browser" -q --timeout=900 || status=1; \
	echo "== browser tests (Chromium $(CHROMIUM))"; \
	$(PY) -m pytest -m browser -q --timeout=900 || status=1; \
	exit $$status

bench: scripts/bench.py requirements-bench.txt
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	@if [ ! -f .venv-bench/.installed ] || [ requirements-bench.txt -nt .venv-bench/.installed ]; then \
		.venv-bench/bin/python -m pip install -qq -r requirements-bench.txt && touch .venv-bench/.installed; fi
	PYTHONPATH=widgets:scripts .venv-bench/bin/python scripts/bench.py
	$(MAKE) --no-print-directory build
	$(PY) scripts/bench_widgets.py

FORCE:

clean:
	rm -rf site build $(STAMPS) $(VENDOR) .pytest_cache

distclean: clean
	rm -rf $(VENV) .venv-bench node_modules
