# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The Colab notebooks: statically (valid, stripped, badge, install / parameters / GPU tags, every TRL config kwarg
accepted by the installed TRL, every `ehr-r1` command real) and executed end to end in smoke mode with nbclient, on
the venv's own kernel, cells tagged `skip-execution` left out, parameters injected after the `parameters` cell."""

import ast
import inspect
import json
import math
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from openai_server import OpenAIServer, Request, completion, top_logprobs


REPO = Path(__file__).resolve().parents[1]
MEDS_DEMO = REPO.parent / "shared" / "data" / "mimic-iv-demo-meds"  # the MIMIC-IV demo's MEDS conversion, never copied
NOTEBOOKS = REPO / "notebooks"
NAMES = ("01_inference", "02_finetune_your_hospital", "03_evaluate_on_ehr_bench")
COLAB = "https://colab.research.google.com/github/ehr-r1/ehr-r1/blob/main/notebooks/{}.ipynb"
SKIP, GPU, PARAMETERS = "skip-execution", "gpu", "parameters"


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def python_source(cell) -> str:
    """A code cell as plain Python (IPython turns `!cmd` / `%magic` lines into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell.source)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


# -------------------------------------------------------------------------------------------------------- static
@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_valid_stripped_and_colab_ready(name):
    raw = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    nb = load(name)
    nbformat.validate(nb)
    assert "widgets" not in raw["metadata"] and all("widgets" not in c.get("metadata", {}) for c in raw["cells"])
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# EHR-R1")
    assert f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({COLAB.format(name)})" in (
        title.source
    )
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"outputs committed in {name}: {cell.source[:60]}"
        ast.parse(python_source(cell))
    installs = [c for c in code_cells(nb) if re.search(r"pip install|make install", c.source)]
    assert len(installs) == 1 and SKIP in tags(installs[0]) and installs == code_cells(nb)[:1]
    # the pinned stack, as CI installs it (Makefile: torch==..., requirements-ci.txt, the package)
    assert "!make install" in installs[0].source and "requirements-ci.txt" in (REPO / "Makefile").read_text()
    params = [c for c in nb.cells if PARAMETERS in tags(c)]
    assert len(params) == 1
    assigned = {t.id: n.value for n in ast.parse(params[0].source).body for t in n.targets}  # plain assignments only
    assert isinstance(assigned["SMOKE"], ast.Constant) and assigned["SMOKE"].value is True and "WORKDIR" in assigned
    gpu = [c for c in nb.cells if GPU in tags(c)]
    assert gpu, "a GPU-only cell shows the real run"
    for cell in gpu:  # skipped in CI by its tag; on a Colab CPU runtime it does nothing in smoke mode
        assert SKIP in tags(cell) and cell.source.lstrip("# \n").split("\n", 1)[0].startswith("GPU")
        assert "if not SMOKE" in cell.source


def trl_config_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for name in NAMES:
        for cell in code_cells(load(name)):
            for node in ast.walk(ast.parse(python_source(cell))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("SFTConfig", "GRPOConfig"):
                    calls.append((name, node))
    return calls


def test_every_trl_config_kwarg_is_accepted_by_the_installed_trl(tmp_path):
    """API drift: the SFTConfig / GRPOConfig calls of the notebooks, parsed with ast, built against this TRL."""
    import trl

    calls = trl_config_calls()
    assert calls, "the notebooks show a TRL config in Python"
    for name, call in calls:
        cls = getattr(trl, call.func.id)
        accepted = set(inspect.signature(cls).parameters)
        kwargs = {k.arg: k.value for k in call.keywords}
        assert set(kwargs) <= accepted, f"{name}: {call.func.id} has no {sorted(set(kwargs) - accepted)}"
        literal = {}
        for key, value in kwargs.items():
            try:
                literal[key] = ast.literal_eval(value)
            except ValueError:  # a variable: its name is checked above
                pass
        cls(**{**literal, "output_dir": str(tmp_path), "use_cpu": True, "bf16": False, "fp16": False})


def test_every_ehr_r1_command_in_the_notebooks_exists():
    from ehr_r1.cli import COMMANDS

    used = set()
    for name in NAMES:
        for cell in code_cells(load(name)):
            used |= set(re.findall(r"ehr_r1\(\s*f?\"([a-z-]+) ", cell.source))
    assert {"synth-mimic", "tiny-model", "build-bench", "build-ins", "eval", "push-model"} <= used
    assert used <= set(COMMANDS)


# ------------------------------------------------------------------------------------------------------ executed
def kernel_manager(tmp: Path):
    """A kernel manager for this interpreter's ipykernel, from a kernel spec in a temp dir (nothing registered)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec = tmp / "kernels" / "ehr-r1-venv"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "ehr-r1", "language": "python"}))
    return KernelManager(
        kernel_name="ehr-r1-venv", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)])
    )


def execute(name: str, params: dict, tmp: Path, probe: str | None = None) -> tuple[nbformat.NotebookNode, dict]:
    """Run a notebook as CI does; ``probe`` (code printing one JSON line) runs last in the same kernel."""
    from nbclient import NotebookClient

    nb = load(name)
    at = next(i for i, c in enumerate(nb.cells) if PARAMETERS in tags(c)) + 1
    injected = new_code_cell("\n".join(f"{key} = {value!r}" for key, value in params.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at, injected)
    nb.cells = [c for c in nb.cells if SKIP not in tags(c)]
    client = NotebookClient(nb, km=kernel_manager(tmp), timeout=900, resources={"metadata": {"path": str(REPO)}})
    probed = {}
    env = {**os.environ, "IPYTHONDIR": str(tmp / "ipython"), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "MPLBACKEND": "Agg"}  # fmt: skip
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        if probe:
            cell = new_code_cell(probe)
            nb.cells.append(cell)
            client.execute_cell(cell, len(nb.cells) - 1)
            probed = json.loads(stream_text(cell).strip().splitlines()[-1])
    return nb, probed


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def displayed(nb, mime: str) -> list:
    return [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "display_data" and mime in o.data]


PROBE_01 = """
import json
ehr_r1(f"eval --model {MODEL} --bench {work / 'ehr-bench'} --tasks Readmission_30day --limit 2 "
       f"--output {work / 'probe-eval'} --n-resamples 10")
rows = [json.loads(line) for line in (work / "probe-eval" / "predictions.jsonl").read_text().splitlines()]
print(json.dumps({"prompts": {str(k): v for k, v in prompts.items()}, "risk_scores": risk_scores,
                  "eval_p_yes": {f"{r['task']}/{r['idx']}": r["p_yes"] for r in rows},
                  "answers": {str(k): v for k, v in answers.items()}, "labels": [s.output for s in risk]}))
"""


def served(request: Request):
    """The fake server of notebook 03: P(yes) 0.8 for women, 0.3 for men; decision-making: the first two
    candidates of the prompt's candidate list (the official protocol sends it)."""
    if request.body["max_tokens"] == 1:
        p_yes = 0.8 if "Gender: F" in request.user else 0.3
        first = "yes" if p_yes > 0.5 else "no"
        return completion(first, logprobs=top_logprobs({"yes": p_yes, "no": 1 - p_yes}, first))
    found = re.search(r"Candidate List: (\[.*?\])\.", request.user)
    items = ast.literal_eval(found.group(1))[:2] if found else ["Sodium"]
    return "<think>\nthe candidates\n</think>\n\n" + "\n".join(items)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    """The three notebooks in smoke mode, two at a time (each is mostly imports and kernel start-up)."""
    tmp = tmp_path_factory.mktemp("notebooks")
    with OpenAIServer(served) as server:
        jobs = {
            "02_finetune_your_hospital": ({"WORKDIR": str(tmp / "02")}, None),
            "01_inference": ({"WORKDIR": str(tmp / "01")}, PROBE_01),
            "03_evaluate_on_ehr_bench": ({"WORKDIR": str(tmp / "03"), "BASE_URL": server.url,
                                          "SERVED_MODEL": "fake-served"}, None),
        }  # fmt: skip
        bad = {"WORKDIR": str(tmp / "bad"), "BENCH": str(tmp / "no-such-bench.jsonl")}
        meds = {"WORKDIR": str(tmp / "02-meds"), "MEDS_DIR": str(MEDS_DEMO)}
        with ThreadPoolExecutor(max_workers=2) as pool:
            failing = pool.submit(execute, "03_evaluate_on_ehr_bench", bad, tmp / "kernel-bad")
            from_meds = (
                pool.submit(execute, "02_finetune_your_hospital", meds, tmp / "kernel-meds")
                if MEDS_DEMO.is_dir()
                else None
            )
            futures = {
                n: pool.submit(execute, n, params, tmp / f"kernel-{n[:2]}", probe)
                for n, (params, probe) in jobs.items()
            }
            results = {n: f.result() for n, f in futures.items()}
            results["failing"] = failing.exception()
            results["02_meds"] = from_meds.result() if from_meds else None
        results["requests"] = server.chat_requests
    return {"tmp": tmp, **results}


@pytest.mark.slow
def test_01_inference_prompts_parses_and_scores_risk_as_eval(executed):
    _, probe = executed["01_inference"]
    on, off = probe["prompts"]["True"], probe["prompts"]["False"]
    assert on.endswith("<|im_start|>assistant\n") and "\n/think<|im_end|>" in on
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") and "\n/no_think<|im_end|>" in off
    for answer in probe["answers"].values():
        assert 0.0 <= answer["f1"] <= 1.0 and answer["answer"] in answer["completion"]
    assert sorted(probe["labels"]) == ["no", "yes"]
    assert probe["risk_scores"].keys() == probe["eval_p_yes"].keys() and len(probe["risk_scores"]) == 2
    for key, p_yes in probe["risk_scores"].items():  # the notebook's P(yes) is the one `ehr-r1 eval` records
        assert 0.0 < p_yes < 1.0 and math.isclose(p_yes, probe["eval_p_yes"][key], rel_tol=1e-5)


@pytest.mark.slow
def test_02_finetune_builds_trains_qlora_and_evaluates_the_adapter(executed):
    nb, _ = executed["02_finetune_your_hospital"]
    work = executed["tmp"] / "02"
    ins = json.loads((work / "ehr-ins" / "manifest.json").read_text())
    assert ins["disjointness"]["overlap"] == 0 and ins["truncation"]["max_length"] == 512  # --check-disjoint ran
    assert "patients shared with the bench: 0" in "".join(stream_text(c) for c in nb.cells)
    adapter = work / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file() and (adapter / "adapter_config.json").is_file()
    log = "".join(stream_text(c) for c in nb.cells)
    losses = [ast.literal_eval(line)["loss"] for line in log.splitlines() if line.startswith("{'loss'")]
    assert len(losses) == 2 and all(math.isfinite(float(v)) for v in losses)  # recipes/tiny/qlora.yaml: 2 steps
    results = json.loads((work / "eval-adapter" / "results.json").read_text())
    assert results["model"] == str(adapter) and results["backend"] == "transformers"
    assert set(results["tasks"]) == {"labevents", "diagnoses_icd", "LengthOfStay_7day", "Readmission_30day"}
    baseline = json.loads((work / "eval-logreg" / "results.json").read_text())
    assert baseline["baseline"] == "logreg" and set(baseline["aggregates"]) == set(results["aggregates"])
    assert displayed(nb, "image/png") and displayed(nb, "text/markdown")


@pytest.mark.slow
def test_02_finetune_from_meds(executed):
    """The same notebook on a MEDS dataset (the MIMIC-IV demo's MEDS conversion in ../shared): MEDS_DIR only."""
    if executed["02_meds"] is None:
        pytest.skip(f"MIMIC-IV demo MEDS not found at {MEDS_DEMO}")
    work = executed["tmp"] / "02-meds"
    ins = json.loads((work / "ehr-ins" / "manifest.json").read_text())
    assert ins["source"]["format"] == "meds" and ins["disjointness"]["overlap"] == 0
    assert (work / "adapter" / "adapter_model.safetensors").is_file()
    results = json.loads((work / "eval-adapter" / "results.json").read_text())
    assert set(results["tasks"]) == {"labevents", "diagnoses_icd"}  # no --labels: no risk tasks from MEDS
    assert not (work / "synth-mimic").exists()


@pytest.mark.slow
def test_03_evaluates_in_process_and_through_a_server_with_report_and_chart(executed):
    nb, _ = executed["03_evaluate_on_ehr_bench"]
    work = executed["tmp"] / "03"
    local = json.loads((work / "eval-model" / "results.json").read_text())
    remote = json.loads((work / "eval-server" / "results.json").read_text())
    assert local["backend"] == "transformers" and remote["backend"] == "openai" and remote["model"] == "fake-served"
    n_samples = sum(entry["n"] for entry in remote["aggregates"].values())
    assert n_samples == sum(entry["n"] for entry in local["aggregates"].values()) == 8  # 4 tasks x LIMIT 2
    assert len(executed["requests"]) == n_samples
    rows = [json.loads(line) for line in (work / "eval-server" / "predictions.jsonl").read_text().splitlines()]
    assert {round(r["p_yes"], 6) for r in rows if r["task_type"] == "risk_prediction"} <= {0.8, 0.3}
    for folder in ("eval-model", "eval-server", "eval-logreg"):
        assert (work / folder / "report.md").is_file() and (work / folder / "per_task.png").stat().st_size > 1000
    charts, tables = displayed(nb, "image/png"), displayed(nb, "text/markdown")
    assert len(charts) == 2 and any("logreg baseline" in t.data["text/markdown"] for t in tables)


@pytest.mark.slow
def test_a_failing_command_stops_the_notebook_with_its_one_line_error(executed):
    """A `!ehr-r1` line would print the error and go on; the notebooks' `ehr_r1()` stops at the failing cell."""
    from nbclient.exceptions import CellExecutionError

    error = executed["failing"]
    assert isinstance(error, CellExecutionError), error
    assert "no-such-bench.jsonl: bench not found" in str(error) and "exited with status 2" in str(error)
    assert not (executed["tmp"] / "bad" / "eval-model" / "results.json").exists()
