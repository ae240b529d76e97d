# `make run` and `make test` each do all set-up on a fresh machine.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
WORKSPACE ?= workspace

.PHONY: run test lint lock bench-deps screenshots clean

# The exact versions of requirements.lock, then faceloop itself without resolving again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Serves the web app on http://127.0.0.1:8000 (imports run in the same process).
run: $(STAMP)
	test -f $(WORKSPACE)/faceloop.toml || $(VENV)/bin/faceloop init $(WORKSPACE)
	$(VENV)/bin/faceloop serve --workspace $(WORKSPACE)

# Debian's chromium, for the browser tests (Playwright drives it; it downloads nothing).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

test: $(STAMP) $(CHROMIUM)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

# A screenshot of every page at 1280 and 390 px wide into screenshots/, from a demo workspace
# built from ../shared/data (once: it is cached in ~/.cache/faceloop) and served on a free port.
screenshots: $(STAMP) $(CHROMIUM)
	$(PY) tools/screenshots.py --out screenshots

# The benchmarks compare against face_recognition, installed without its source-only dlib.
bench-deps: $(STAMP)
	$(PY) -m pip install --quiet --no-deps face-recognition==1.3.0

# Resolves pyproject.toml's ranges afresh in a scratch venv and writes what it got to
# requirements.lock; run it to take newer releases, then make test.
LOCKVENV := .lock-venv
lock:
	rm -rf $(LOCKVENV)
	python3 -m venv $(LOCKVENV)
	$(LOCKVENV)/bin/python -m pip install --quiet '.[dev]'
	{ echo "# Exact versions of every package make run and make test install (the ones CI tested)."; \
	  echo "# Written by \`make lock\` from a fresh install of pyproject.toml's ranges; do not edit by hand."; \
	  $(LOCKVENV)/bin/python -m pip freeze --all --exclude faceloop | grep -v -E '^(pip|setuptools|wheel)=='; \
	} > requirements.lock
	rm -rf $(LOCKVENV)

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(LOCKVENV) build src/*.egg-info .pytest_cache .ruff_cache
