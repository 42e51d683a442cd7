# Marquee: `make demo` and `make test` are all a fresh machine needs (see README.md).
SHELL := /bin/bash
PYTHON_BASE ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf

.PHONY: install demo test bench protos lint train eval clean

$(VENV)/bin/python:
	$(PYTHON_BASE) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

# Reinstall whenever the dependencies change.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m client_tui demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider

# Long measurements stay out of `make test` (which runs each script with --smoke).
bench: install
	set -e; for script in tests/benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script; done

protos: install
	cd protos && ../$(PY) -m marquee.protogen

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

lint: $(BUF)
	cd protos && ../$(BUF) lint

# SASRec: train (~30 min on 2 cores), export to ONNX into the model repository, evaluate.
train: install
	$(PY) -m recommender_server.training

eval: install
	$(PY) -m recommender_server.evaluation

clean:
	rm -rf $(VENV) .tools
