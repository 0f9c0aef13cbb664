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

test:
	$(PY) -m pytest -q -p no:cacheprovider

test-fast:
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

test-gpu:
	$(PY) -m pytest -q -p no:cacheprovider -m gpu

# The main job on the embedded default: synthetic MIMIC-IV -> EHR-Bench + EHR-Ins -> tiny model -> scores.
demo:
	$(PY) -m ehr_r1.cli synth-mimic --output $(OUT)/synth-mimic --patients 1000 --overwrite
	$(PY) -m ehr_r1.cli build-bench --mimic-dir $(OUT)/synth-mimic --output $(OUT)/ehr-bench --format jsonl
	$(PY) -m ehr_r1.cli tiny-model --output $(OUT)/tiny-model
	$(PY) -m ehr_r1.cli build-ins --mimic-dir $(OUT)/synth-mimic --output $(OUT)/ehr-ins --max-per-task 200 --cpt \
		--check-disjoint $(OUT)/ehr-bench --max-length 1024 --tokenizer $(OUT)/tiny-model
	$(PY) -m ehr_r1.cli eval --baseline logreg --train $(OUT)/ehr-ins --bench $(OUT)/ehr-bench --output $(OUT)/eval-logreg
	$(PY) -m ehr_r1.cli eval --model $(OUT)/tiny-model --bench $(OUT)/ehr-bench --output $(OUT)/eval-tiny-model \
		--limit 2 --max-new-tokens 16
	@echo "demo outputs in $(OUT)/: ehr-bench/ ehr-ins/ tiny-model/ eval-logreg/ eval-tiny-model/ (report.md, per_task.png)"

bench:
	$(PY) benchmarks/build_speed.py
	$(PY) benchmarks/packing.py
	$(PY) benchmarks/eval_speed.py
