# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Model cards for every checkpoint: ``model_cards/template.md.j2`` rendered through ``huggingface_hub.ModelCard``.

A card reads what a checkpoint folder holds: ``ehr_r1_training.json`` (written by ``ModelCardCallback`` at every save
and at the end of training; earlier stages are found by following each stage's ``base_model`` to its folder), an
``adapter_config.json`` (PEFT), an ``ehr-r1 eval`` ``results.json`` (the ``model-index``: every task, the two
aggregates with their CIs, the bench fingerprint) and optional per-model facts (``model_cards/ehr-r1-*.yaml``).
"""

import json
import logging
import math
import shutil
from pathlib import Path

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import TrainerCallback

from ehr_r1 import __version__, layout, provenance
from ehr_r1.cards import MIMIC_GATE, owner_gate
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION


logger = logging.getLogger(__name__)

MODEL_CARDS = Path(__file__).resolve().parents[2] / "model_cards"  # source checkout; facts may be passed explicitly
# shipped in the package (wheels too); model_cards/template.md.j2 in the checkout is a link to it
TEMPLATE = Path(__file__).parent / "templates" / "model_card.md.j2"
TRAINING_FACTS = "ehr_r1_training.json"
CHART = "per_task.png"
CITATION = """@article{liao2025ehrr1,
  title   = {{EHR-R1}: A Reasoning-Enhanced Foundational Language Model for Electronic Health Record Analysis},
  author  = {Liao, Yusheng and others},
  journal = {arXiv preprint arXiv:2510.25628},
  year    = {2025}
}"""
PHYSIONET_LICENSE = {
    "license": "other",
    "license_name": "physionet-credentialed-health-data-license-1.5.0",
    "license_link": "https://physionet.org/content/mimiciv/view-license/3.1/",
}
MODEL_GATE_PROMPT = (
    "This model was trained on data derived from MIMIC-IV and may reproduce fragments of it. You must hold active "
    "PhysioNet credentialed access and have signed the MIMIC-IV data use agreement. You agree not to attempt "
    "re-identification, not to share the weights with third parties, and not to use the model for clinical decisions."
)
METRICS = {"f1": ("f1", "F1"), "auroc": ("roc_auc", "AUROC")}
KINDS = {DECISION_MAKING: "Decision making", RISK_PREDICTION: "Risk prediction"}
MAX_STAGES = 16  # a base_model chain longer than this is a loop


# ------------------------------------------------------------------------------------------------------ reading
def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"malformed JSON: {err}") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a JSON object")
    return data


def read_results(results: dict | str | Path | None) -> tuple[dict | None, Path | None]:
    """``(results.json content, its folder)`` from a dict, a results.json path or an ``ehr-r1 eval`` output folder."""
    if results is None or isinstance(results, dict):
        return results, None
    path = Path(results)
    path = path / "results.json" if path.is_dir() else path
    data = _read_json(path)
    if data is None:
        raise InputError(path, "results file not found")
    for key in ("bench", "tasks", "aggregates"):
        if key not in data:
            raise InputError(path, f"not an `ehr-r1 eval` results.json (no {key!r})")
    return data, path.parent


def stage_history(checkpoint_dir: Path) -> list[dict]:
    """The training facts of every stage that led to ``checkpoint_dir``, first stage first."""
    stages, folder = [], checkpoint_dir
    while len(stages) < MAX_STAGES:
        facts = _read_json(folder / TRAINING_FACTS)
        if facts is None:
            break
        stages.append(facts)
        base = facts.get("base_model")
        if not base or not Path(base).is_dir() or Path(base).resolve() == folder.resolve():
            break
        folder = Path(base)
    return stages[::-1]


def dataset_fingerprint(dataset: str | Path | None) -> str | None:
    """The training data's fingerprint as ``ehr-r1 eval`` reports a bench's; None for Hub ids and unbuilt folders."""
    return provenance.dataset_fingerprint(dataset) if dataset and Path(dataset).is_dir() else None


def dataset_derived(dataset: str | Path | None) -> bool:
    """Whether a training dataset is MIMIC-derived: True unless it is a local build verified as synthetic."""
    return not (dataset and Path(dataset).is_dir() and provenance.dataset_is_synthetic(dataset))


def _facts_path(stages: list[dict], facts: str | Path | None) -> Path | None:
    if facts is not None:
        return Path(facts)
    for stage in reversed(stages):  # recipes/ehr-r1-8b/... -> model_cards/ehr-r1-8b.yaml
        for part in Path(stage.get("recipe") or "").parts:
            candidate = MODEL_CARDS / f"{part}.yaml"
            if part.startswith("ehr-r1-") and candidate.is_file():
                return candidate
    return None


def read_facts(path: Path | None) -> dict:
    """Per-model facts (``model_cards/ehr-r1-*.yaml``); ``{}`` without a file."""
    if path is None:
        return {}
    if not path.is_file():
        raise InputError(path, "model facts file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(path, f"malformed YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a YAML mapping")
    return data


# ---------------------------------------------------------------------------------------------------- model-index
def _score(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _interval(entry: dict, confidence: float) -> dict:
    return {"ci_low": entry.get("ci_low"), "ci_high": entry.get("ci_high"), "confidence": confidence, "n": entry["n"]}


def eval_results(results: dict, dataset_type: str) -> list[EvalResult]:
    """The ``model-index`` entries: the two aggregates (with CIs), then every task with a defined score."""
    bench, confidence = results["bench"], results["bootstrap"]["confidence"]
    common = {
        "task_type": "text-generation",
        "dataset_type": dataset_type,
        "dataset_name": "EHR-Bench",
        "dataset_split": "test",
        "dataset_args": {"fingerprint": bench["fingerprint"], "n_samples": bench["n_samples"]},
    }
    entries = []
    for kind, entry in results["aggregates"].items():
        metric, label = METRICS[entry.get("metric", "f1" if kind == DECISION_MAKING else "auroc")]
        if _score(entry["score"]) is not None:
            args = _interval(entry, confidence) | {"n_tasks": entry.get("n_tasks", 0)}
            entries.append(EvalResult(**common, task_name=KINDS[kind], dataset_config=kind, metric_type=metric,
                                      metric_name=f"mean {label}", metric_value=_score(entry["score"]),
                                      metric_args=args))  # fmt: skip
    for task, entry in results["tasks"].items():
        metric, label = METRICS[entry["metric"]]
        if _score(entry["score"]) is not None:
            entries.append(EvalResult(**common, task_name=KINDS[entry["task_type"]], dataset_config=task,
                                      metric_type=metric, metric_name=label, metric_value=_score(entry["score"]),
                                      metric_args=_interval(entry, confidence)))  # fmt: skip
    return entries


def _bench_id(results: dict, facts: dict) -> str:
    path = results["bench"]["path"]
    if facts.get("bench_repo"):
        return facts["bench_repo"]
    if path.count("/") == 1 and not Path(path).exists():  # loaded from the Hub
        return path
    return "ehr-bench"  # a local build: no Hub id to point to


# --------------------------------------------------------------------------------------------------------- render
def _base(stages: list[dict], checkpoint_dir: Path) -> tuple[str | None, str]:
    """(Hub id of the base model or None, what to call it) for the first stage's starting point."""
    adapter = _read_json(checkpoint_dir / "adapter_config.json") or {}
    base = stages[0].get("base_model") if stages else adapter.get("base_model_name_or_path")
    if not base:
        return None, "unknown"
    hub = None if Path(base).exists() or base.startswith((".", "/")) else base
    return hub, base if hub else public_path(base)


def public_path(path: str | None) -> str | None:
    """A local path as a pushed card may show it: relative to this checkout (``recipes/tiny/domain.yaml``), else
    only its last part (``.../ins``), so no user name or folder layout of the training machine is published."""
    if not path or not Path(path).is_absolute():
        return path
    resolved = Path(path).resolve()
    if resolved.is_relative_to(MODEL_CARDS.parent):
        return resolved.relative_to(MODEL_CARDS.parent).as_posix()
    return f".../{resolved.name}"


def data_owner(datasets: list[str]) -> str | None:
    """The real data a model was trained on when it is not MIMIC-IV: the source named in its training datasets'
    manifests (a MEDS build of another hospital's data); None for MIMIC-IV, or when a dataset cannot be read (then
    MIMIC-IV's gate, the conservative one, applies)."""
    sources = []
    for folder in datasets:
        try:
            sources.append(layout.read_manifest(folder).get("source") or {})
        except (EhrR1Error, OSError):
            return None
    if not sources or any(s.get("format") != "meds" or s.get("mimic", True) or not s.get("dataset") for s in sources):
        return None
    return ", ".join(sorted({s["dataset"] for s in sources}))


def _licence(derived: bool, facts: dict, owner: str | None = None) -> dict:
    if derived and owner:
        gate = owner_gate(owner)
        prompt = gate["extra_gated_prompt"].replace(
            "This dataset is derived", "This model was trained on data derived"
        )
        return {"license": "other", "gated": True, **gate, "extra_gated_prompt": prompt}
    if derived:
        return PHYSIONET_LICENSE | {"gated": True, **MIMIC_GATE, "extra_gated_prompt": MODEL_GATE_PROMPT}
    base = facts.get("base_license", "apache-2.0")
    if base == "apache-2.0":
        return {"license": "apache-2.0"}
    return {"license": "other", "license_name": base, "license_link": facts.get("base_license_link")}


def _stage_rows(stages: list[dict]) -> list[dict]:
    rows = []
    for s in stages:
        if s.get("final_loss") is not None:
            result = f"final loss {s['final_loss']:.4f}"
        elif s.get("mean_reward") is not None:
            result = f"mean reward {s['mean_reward']:.4f}"
        else:
            result = "n/a"
        rows.append({**s, "recipe": public_path(s.get("recipe")), "dataset": public_path(s.get("dataset")),
                     "result": result})  # fmt: skip
    return rows


def _result_tables(results: dict) -> tuple[list[dict], list[dict]]:
    def fmt(v):
        return "n/a" if _score(v) is None else f"{v:.4f}"

    aggregates = [
        {"name": KINDS[k], "metric": METRICS[e.get("metric", "f1" if k == DECISION_MAKING else "auroc")][1],
         "tasks": e.get("n_tasks", 0), "n": e["n"], "score": fmt(e["score"]),
         "ci": f"[{fmt(e.get('ci_low'))}, {fmt(e.get('ci_high'))}]"}
        for k, e in results["aggregates"].items()
    ]  # fmt: skip
    tasks = [
        {"task": t, "type": e["task_type"], "metric": METRICS[e["metric"]][1], "n": e["n"], "score": fmt(e["score"]),
         "ci": f"[{fmt(e.get('ci_low'))}, {fmt(e.get('ci_high'))}]"}
        for t, e in results["tasks"].items()
    ]  # fmt: skip
    return aggregates, tasks


def render_model_card(
    checkpoint_dir: str | Path, *, results: dict | None = None, facts: str | Path | None = None
) -> ModelCard:
    """The card of a checkpoint folder (see the module docstring for what it reads)."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise EhrR1Error(f"{checkpoint_dir}: not a checkpoint folder")
    stages = stage_history(checkpoint_dir)
    model_facts = read_facts(_facts_path(stages, facts))
    origin = provenance.model_provenance(checkpoint_dir)  # verified, not read from the record alone
    derived, owner = origin["derived"], data_owner(origin["datasets"])
    base_id, base_name = _base(stages, checkpoint_dir)
    base_id = model_facts.get("base_model") or base_id  # curated per-model facts name the release base
    name = model_facts.get("model_name") or checkpoint_dir.resolve().name
    adapter = (checkpoint_dir / "adapter_config.json").is_file()
    data = ModelCardData(
        model_name=name,
        language=["en"],
        library_name="peft" if adapter else "transformers",
        pipeline_tag="text-generation",
        base_model=base_id,
        tags=["medical", "ehr", "clinical", "reasoning", "ehr-r1", "trl", *(["synthetic"] if not derived else [])],
        datasets=sorted({s["dataset"] for s in stages if s.get("dataset") and s["dataset"].count("/") == 1}) or None,
        eval_results=eval_results(results, _bench_id(results, model_facts)) if results else None,
        **_licence(derived, model_facts, owner),
    )
    aggregates, tasks = _result_tables(results) if results else ([], [])
    return ModelCard.from_template(
        data,
        template_path=str(TEMPLATE),
        name=name,
        facts=model_facts,
        derived=derived,
        adapter=adapter,
        base_name=base_name,
        stages=_stage_rows(stages),
        results=results,
        aggregates=aggregates,
        task_rows=tasks,
        chart=CHART if results and results["tasks"] else None,
        citation=CITATION,
        version=__version__,
    )


def _check_replaceable(card: Path) -> None:
    """Refuse to replace a README.md that neither this toolkit nor TRL's trainer wrote."""
    if not card.is_file():
        return
    tags = layout.read_card_metadata(card).get("tags") or []
    if not {"ehr-r1", "generated_from_trainer", "trl"} & set(tags):
        raise InputError(card, "a model card that ehr-r1 did not write: move it away to write a new one")


def write_model_card(
    checkpoint_dir: str | Path, *, results: dict | str | Path | None = None, facts: str | Path | None = None
) -> Path:
    """Write ``checkpoint_dir/README.md`` (and the per-task chart when there are results); returns the card's path."""
    checkpoint_dir = Path(checkpoint_dir)
    data, results_dir = read_results(results)
    card = render_model_card(checkpoint_dir, results=data, facts=facts)
    path = checkpoint_dir / "README.md"
    _check_replaceable(path)
    if data and data["tasks"]:
        chart = results_dir / CHART if results_dir else None
        if chart and chart.is_file():
            shutil.copyfile(chart, checkpoint_dir / CHART)
        else:
            from ehr_r1.evaluation.report import plot

            plot(data, checkpoint_dir / CHART)
    tmp = path.with_name(".README.md.tmp")
    card.save(tmp)
    tmp.replace(path)
    logger.info("model card written to %s", path)
    return path


# ------------------------------------------------------------------------------------------------------- callback
def _model_path(model) -> str | None:
    config = getattr(model, "config", None)
    peft = getattr(model, "peft_config", None)
    if peft:  # a PEFT model: the adapter's base
        return next(iter(peft.values())).base_model_name_or_path
    return getattr(config, "_name_or_path", None) or getattr(model, "name_or_path", None)


def training_facts(args, state, model=None, *, recipe=None, dataset=None, stage=None, base_model=None) -> dict:
    """``ehr_r1_training.json``: what a card says about one training stage."""
    losses = [e["loss"] for e in state.log_history if "loss" in e]
    rewards = [e["reward"] for e in state.log_history if "reward" in e]
    base = base_model or (_model_path(model) if model is not None else None)
    base_local = bool(base) and Path(base).is_dir()
    facts = {
        "stage": stage,
        "recipe": recipe,
        "dataset": str(dataset) if dataset else None,
        "dataset_fingerprint": dataset_fingerprint(dataset),
        "base_model": base,
        "derived_from_mimic": dataset_derived(dataset),
        # the base's provenance as of training, so a base folder moved or pushed later cannot launder the weights
        "base_local": base_local,
        "base_derived": provenance.model_provenance(Path(base))["derived"] if base_local else None,
        "steps": state.global_step,
    }
    if rewards:
        facts["mean_reward"] = sum(rewards) / len(rewards)
    else:
        facts["final_loss"] = losses[-1] if losses else None
    return facts


class ModelCardCallback(TrainerCallback):
    """Write ``ehr_r1_training.json`` and a model card into every checkpoint folder and into the final output folder.

    Args:
        recipe: the recipe the run uses (``recipes/ehr-r1-8b/domain/config_full.yaml``): its model's facts go in the card.
        dataset: the training dataset (a built folder: its manifest gives the fingerprint and the provenance).
        stage: ``domain``, ``reasoning``, ``grpo`` or ``cpt``.
    """

    def __init__(self, *, recipe: str | None = None, dataset: str | None = None, stage: str | None = None):
        self.recipe, self.dataset, self.stage = recipe, dataset, stage
        self.base_model = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.base_model = _model_path(model) if model is not None else None

    def _write(self, folder: Path, args, state) -> None:
        facts = training_facts(
            args, state, recipe=self.recipe, dataset=self.dataset, stage=self.stage, base_model=self.base_model
        )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TRAINING_FACTS).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        write_model_card(folder)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._write(Path(args.output_dir) / f"checkpoint-{state.global_step}", args, state)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._write(Path(args.output_dir), args, state)
