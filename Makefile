.PHONY: install style quality test test-fast test-gpu demo bench

PY ?= python
export OMP_NUM_THREADS ?= 1
OUT ?= outputs
LINT_PATHS = src tests benchmarks scripts evaluate_metrics dataset_builders notebooks

install:
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -r requirements-ci.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -e ".[dev]" --no-deps

style:
	$(PY) -m ruff check --fix $(LINT_PATHS)
	$(PY) -m ruff format $(LINT_PATHS)

quality:
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

# two workers (pytest-xdist): the suite is mostly single-threaded (OMP_NUM_THREADS=1) on a 2-core machine
test:
	$(PY) -m pytest -q -p no:cacheprovider -n 2

test-fast:
	$(PY) -m pytest -q -p no:cacheprovider -n 2 -m "not slow"

test-gpu:
	$(PY) -m pytest -q -p no:cacheprovider -m gpu

# The main job on the embedded default: synthetic MIMIC-IV -> EHR-Bench + EHR-Ins -> reasoning chains -> stages 1-3 of
# the tiny model through TRL -> eval -> model card, all under $(OUT)/demo (see `ehr-r1 demo --help`).
demo:
	$(PY) -m ehr_r1.cli demo --output $(OUT)/demo

bench:
	$(PY) benchmarks/build_speed.py
	$(PY) benchmarks/packing.py
	$(PY) benchmarks/eval_speed.py
