# Marquee: `make demo` and `make test` are all a fresh machine needs (see README.md).
SHELL := /bin/bash
PYTHON_BASE ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf

.PHONY: install lock demo test bench protos lint lint-python train eval clean gpu-wheels

$(VENV)/bin/python:
	$(PYTHON_BASE) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

# uv installs from the lock several times faster than pip (docs/deploy.md, "Locked installs").
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
$(UV): | $(VENV)/bin/python
	$(PY) -m pip install --quiet uv==$(UV_VERSION)

# Every dependency at the version and hash of requirements.lock (`make lock` refreshes it), except
# torch: pip installs it first at the pin below (keep it equal to pyproject's, a test checks),
# honouring this machine's pip configuration, which here serves the CPU build from a local wheel
# (uv does not read pip's configuration, and PyPI's Linux wheel is the multi-GB CUDA build).
TORCH_PIN := torch==2.13.0
LOCK := requirements.lock
$(STAMP): pyproject.toml $(LOCK) | $(UV)
	$(PY) -m pip install --quiet --no-deps $(TORCH_PIN)
	$(UV) pip install --quiet --python $(PY) -c $(LOCK) -r pyproject.toml --extra all
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $(STAMP)

# Re-resolve the lock (Python 3.11, Linux x86-64: what CI and the images run) with hashes. torch
# resolves against the CPU wheel in TORCH_WHEELS so that its CUDA libraries stay out of the lock.
TORCH_WHEELS ?= /opt/wheels
lock: $(UV)
	$(UV) pip compile pyproject.toml --extra all --extra gpu --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --generate-hashes --find-links $(TORCH_WHEELS) \
		--no-emit-find-links --no-emit-package torch --no-header --quiet -o $(LOCK)

install: $(STAMP)

demo: install
	$(PY) -m client_tui demo

# Lint first (seconds), then every test on every core (-n logical: a 2-vCPU machine may report
# one physical core).
test: install lint-python
	$(PY) -m pytest -q -p no:cacheprovider -n logical --durations=40

# Long measurements stay out of `make test` (which runs each script with --smoke).
bench: install
	set -e; for script in tests/benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script; done

protos: install
	cd protos && ../$(PY) -m marquee.protogen

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

# ruff (lint + format) and mypy on the four packages and the tests, as pyproject.toml configures them.
lint-python: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

lint: lint-python $(BUF)
	cd protos && ../$(BUF) lint

# Wheels the GPU machine lacks for the render path (it has Python 3.12, torch and transformers, no
# internet): carried with the source (64 MiB at most), installed there with --no-index. See
# docs/benchmarks.md, "Render speed on a GPU".
GPU_WHEELS := .gpu-wheels
GPU_WHEEL_PINS := diffusers==0.42.1 accelerate==1.15.0 pillow==13.0.0 importlib_metadata==10.2.0 zipp==4.1.2 \
	psutil==7.2.2 structlog==26.1.0 grpcio==1.85.1 grpcio-health-checking==1.81.1 grpcio-reflection==1.81.1 \
	protobuf==6.33.6 prometheus-client==0.26.0 pydantic==2.14.3 pydantic-core==2.50.4 \
	pydantic-settings==2.16.3 python-dotenv==1.2.4 typing-inspection==0.4.5 annotated-types==0.8.0
gpu-wheels: install
	rm -rf $(GPU_WHEELS)
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version 312 \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		--dest $(GPU_WHEELS) $(GPU_WHEEL_PINS)
	du -sh $(GPU_WHEELS)

# SASRec: train (a budget of 60 compute-minutes: about an hour on 2 idle cores), export to ONNX
# into the model repository; eval scores the exported model.
train: install
	$(PY) -m recommender_server.training

eval: install
	$(PY) -m recommender_server.training.evaluation

clean:
	rm -rf $(VENV) .tools $(GPU_WHEELS)
