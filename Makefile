# The two commands: `make run` (demo portal on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kbgen-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test bench check build browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

build: install
	$(BIN)/kbgen build

check: install
	$(BIN)/kbgen check

# Build the bundled demo, create demo accounts (printed), start the portal.
run: build
	$(BIN)/kbgen demo $(if $(KBGEN_PUBLIC_URL),,--url http://$(HOST):$(PORT))
	$(BIN)/kbgen serve --host $(HOST) --port $(PORT)

# Browser tests need Debian's chromium; install it when we can (root + apt), else they skip locally.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null; } || \
	  echo "chromium not installed: browser tests will be skipped (they fail when CI is set)"

test: install browser
	$(BIN)/python -m pytest -q

# The intake benchmark drives the service with wrk (a load generator in C) when it is installed.
bench: install
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk) >/dev/null; } || \
	  echo "wrk not installed: the intake benchmark falls back to Python clients"
	$(BIN)/python bench/run.py

clean:
	rm -rf site .kbgen .site.* build *.egg-info
