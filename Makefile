# Two commands for a newcomer: `make demo` and `make test`. Everything they need
# is installed by the targets below, into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
CORE := $(VENV)/.core

.PHONY: install demo test test-fast lint bench browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The core alone (a minute or two): enough for ROUGE, BLEU, chrF and TER.
$(CORE): pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# Everything: torch==2.13.0 first, so that pip takes the CPU build instead of
# a multi-GB CUDA one when sentence-transformers asks for torch.
# llama-cpp-python builds from source once (10-15 min); pip caches the wheel
# for later installs.
$(STAMP): pyproject.toml $(CORE)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[mauve,local,test,dask]'
	touch $@

install: $(STAMP)

# Debian's Chromium, for the HTML report test: apt-get as root (as on CI),
# through sudo otherwise.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian's chromium for the HTML report test ..."; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# On a fresh machine the lexical table prints right after the core install,
# before the heavy extras (MAUVE's featurizer, the local judge) install; then
# the whole demo runs.
demo: $(CORE)
	@if [ ! -f $(STAMP) ]; then \
	  echo "== evalkit demo: the lexical comparison (the heavy extras install next) =="; \
	  $(VENV)/bin/evalkit run datasets/demo/lexical.toml; \
	  echo "== installing MAUVE's featurizer and the local judge (first time: 10-15 min) =="; \
	fi
	@$(MAKE) --no-print-directory install
	@echo "== the local judge's report card: how far to trust it (10 human-labelled pairs; cached after the first run) =="
	$(VENV)/bin/evalkit judge certify --set pandalm-test --judge local --protocol grammar --limit 10 --out reports/demo/certify
	$(VENV)/bin/evalkit run datasets/demo/demo.toml

# The habits that keep the code in shape run first: lint, format, types.
lint: install
	$(PY) -m ruff check evalkit
	$(PY) -m ruff format --check evalkit
	$(PY) -m mypy

# pytest exits 5 when it collects no test: that must fail loudly, not pass.
test: install browser lint
	@$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test" >&2; exit 1; fi; \
	exit $$status

bench: install
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_judge.py
	$(PY) benchmarks/bench_judge.py --local
	$(PY) benchmarks/bench_explorer.py
	$(PY) benchmarks/bench_style_control.py
	$(PY) benchmarks/bench_dask.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis reports/demo
