# Two commands for a newcomer: `make demo` and `make test`. Everything they need
# is installed by the targets below, into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch==2.13.0 first, so that pip takes the CPU build instead of a multi-GB
# CUDA one when sentence-transformers asks for torch. llama-cpp-python builds
# from source once (10-15 min); pip caches the wheel for later installs.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[mauve,local,test]'
	touch $@

install: $(STAMP)

# Debian's Chromium, for the HTML report test: apt-get as root (as on CI),
# through sudo otherwise.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian's chromium for the HTML report test ..."; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(VENV)/bin/evalkit run datasets/demo/demo.toml

# pytest exits 5 when it collects no test: that must fail loudly, not pass.
test: install browser
	@$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test" >&2; exit 1; fi; \
	exit $$status

bench: install
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_judge.py
	$(PY) benchmarks/bench_explorer.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis reports/demo
