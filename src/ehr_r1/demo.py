# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 demo``: the whole release pipeline, end to end, on the embedded default (synthetic MIMIC-IV, tiny model).

synthetic MIMIC-IV → EHR-Bench + EHR-Ins → reasoning chains (the offline ``template`` teacher) mixed into EHR-Ins →
stage 1 ``domain`` → stage 2 ``reasoning`` → stage 3 ``grpo`` (the ``recipes/tiny/`` recipes through TRL, each stage
starting from the previous stage's checkpoint) → ``ehr-r1 eval`` of the final checkpoint and of the logreg baseline →
a model card in the final checkpoint folder → optionally a push of the datasets and the model to the Hub.

Every stage writes its own folder under ``--output`` and appears whole or not at all: a stage that fails stops the
demo naming the stage, and leaves the earlier stages' outputs (and its own previous output) as they were. The demo
writes ``manifest.json`` (``"command": "demo"``) in its output folder: a re-run rebuilds the demo's own outputs and
refuses any other folder. ``--from-stage`` re-runs from a stage, reusing the earlier stages' outputs.
"""

import contextlib
import dataclasses
import json
import logging
import math
import shlex
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ehr_r1 import __version__, layout
from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir, check_not_inputs, written_by


logger = logging.getLogger(__name__)

COMMAND = "demo"
REPO = Path(__file__).resolve().parents[2]
TINY_RECIPES = REPO / "recipes" / "tiny"
# decision-making tasks that get reasoning chains: a few, so the offline teacher takes seconds (docs/reasoning.md)
REASONING_TASKS = ("diagnoses_ccs", "labevents", "prescriptions", "procedures_ccs", "radiology")
TRAINING = ("domain", "reasoning", "grpo")
WEIGHTS = (".safetensors", ".bin", ".pt", ".gguf")
BENCH_REPO, INS_REPO, MODEL_REPO = "EHR-Bench-demo", "EHR-Ins-demo", "EHR-R1-demo"  # under --push-to, private


@dataclass
class DemoConfig:
    """Options of ``ehr-r1 demo``. The defaults are the embedded demo (synthetic data, tiny model, CPU)."""

    output: str = field(
        default="outputs/demo", metadata={"help": "Folder of every stage's output.", "aliases": ["--out", "-o"]}
    )
    mimic_dir: str | None = field(
        default=None, metadata={"help": "A real MIMIC-IV folder instead of synthetic data (hosp/ required)."}
    )
    base_model: str | None = field(
        default=None, metadata={"help": "Base model (folder or Hub id) instead of the tiny random Qwen3."}
    )
    push_to: str | None = field(
        default=None,
        metadata={
            "help": "Hub namespace (org or user): push EHR-Bench, EHR-Ins and the model, private (gated if MIMIC-derived)."
        },
    )
    endpoint: str | None = field(
        default=None, metadata={"help": "Hub endpoint of --push-to (default: HF_ENDPOINT or the Hub)."}
    )
    patients: int = field(default=200, metadata={"help": "Synthetic patients (without --mimic-dir)."})
    max_per_task: int = field(default=8, metadata={"help": "EHR-Ins samples per task."})
    bench_per_task: int = field(default=4, metadata={"help": "EHR-Bench samples per task."})
    max_length: int = field(default=1024, metadata={"help": "Token budget of every sample (build-ins, build-bench)."})
    reasoning_tasks: tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "Decision-making tasks that get reasoning chains, comma- or space-separated (default: those of "
            f"{','.join(REASONING_TASKS)} that EHR-Ins holds).",
            "sep": ",",
        },
    )
    max_steps: int | None = field(
        default=None, metadata={"help": "Training steps of every stage (default: the recipes' max_steps)."}
    )
    trl_args: str | None = field(
        default=None,
        metadata={"help": "Extra TRL arguments for every stage, e.g. '--use_cpu false --bf16 true' on a GPU."},
    )
    recipes: str | None = field(
        default=None, metadata={"help": "Folder of domain.yaml, reasoning.yaml, grpo.yaml (default: recipes/tiny)."}
    )
    eval_limit: int = field(default=2, metadata={"help": "Bench samples scored per task (ehr-r1 eval --limit)."})
    max_new_tokens: int = field(default=16, metadata={"help": "Decision-making generation budget of the eval."})
    from_stage: str | None = field(
        default=None, metadata={"help": "Re-run from this stage, reusing the earlier stages' outputs."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the synthetic data and the tiny model."})

    def __post_init__(self):
        for name in ("patients", "max_per_task", "bench_per_task", "max_length", "eval_limit", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise EhrR1Error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise EhrR1Error(f"--max-steps must be >= 1, got {self.max_steps}")
        if self.push_to is not None and (not self.push_to or "/" in self.push_to):
            raise EhrR1Error(f"--push-to takes a Hub namespace (an org or user name), got {self.push_to!r}")
        if self.reasoning_tasks is not None:
            self.reasoning_tasks = tuple(self.reasoning_tasks)


# ------------------------------------------------------------------------------------------------------ layout
class Paths:
    """Where each stage writes, under the demo's output folder."""

    def __init__(self, root: Path):
        self.root = root
        self.mimic, self.tiny, self.bench, self.ins = root / "mimic", root / "tiny-model", root / "bench", root / "ins"
        self.reasoning, self.checkpoints, self.model = root / "reasoning", root / "checkpoints", root / "model"
        self.eval, self.baseline = root / "eval", root / "eval-logreg"

    def checkpoint(self, stage: str) -> Path:
        return self.checkpoints / stage


@dataclass
class StageResult:
    """One stage's line of the final table."""

    stage: str
    seconds: float = 0.0
    output: str | None = None
    steps: int | None = None
    final_loss: float | None = None
    mean_reward: float | None = None
    score: str | None = None
    skipped: bool = False


@dataclass
class Stage:
    name: str
    run: Callable[[], StageResult | None]
    output: Path | None = None


# ------------------------------------------------------------------------------------------- owned outputs
def check_demo_output(root: Path, inputs: list[str | None]) -> None:
    """Refuse an output that is related to an input, or an existing folder that the demo did not write."""
    check_not_inputs(root, [i for i in inputs if i and Path(i).exists()])
    if root.exists() and not root.is_dir():
        raise EhrR1Error(f"--output {root}: a file exists there; choose another path")
    if root.is_dir() and any(root.iterdir()) and written_by(root) != COMMAND:
        writer = written_by(root)
        who = f"written by `ehr-r1 {writer}`" if writer else "an existing folder that ehr-r1 did not write"
        raise EhrR1Error(f"--output {root}: {who}; `ehr-r1 demo` writes only into its own folders, choose another one")


@contextlib.contextmanager
def own_output(final: Path) -> Iterator[Path]:
    """A folder that only the demo writes (a checkpoint, the model): built in a temporary sibling and swapped in; the
    previous version is kept aside until the new one is complete, and restored if the stage fails."""
    aside = final.with_name(f".{final.name}.previous")
    if final.exists():
        shutil.rmtree(aside, ignore_errors=True)
        final.rename(aside)
    try:
        with atomic_output_dir(final) as tmp:
            yield tmp
    except BaseException:
        if aside.exists() and not final.exists():
            aside.rename(final)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def write_manifest(root: Path, config: DemoConfig, results: list[StageResult], status: str) -> None:
    """``OUT/manifest.json``: what the demo wrote, its settings and every stage's result (replaced atomically)."""
    manifest = {
        "command": COMMAND,
        "ehr_r1_version": __version__,
        "status": status,
        "config": dataclasses.asdict(config),
        "stages": [dataclasses.asdict(r) for r in results],
    }
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{layout.MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(root / layout.MANIFEST)


def previous_results(root: Path) -> dict[str, dict]:
    """The stage results of the previous run into ``root`` (for ``--from-stage``)."""
    try:
        manifest = json.loads((root / layout.MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    known = {f.name for f in dataclasses.fields(StageResult)}
    stages = manifest.get("stages", []) if isinstance(manifest, dict) else []
    return {
        s["stage"]: {k: v for k, v in s.items() if k in known} for s in stages if isinstance(s, dict) and "stage" in s
    }


# ---------------------------------------------------------------------------------------------------- training
@contextlib.contextmanager
def quiet_training() -> Iterator[None]:
    """Keep a training stage to our progress lines: no per-step dicts, weight-loading bars or deprecation warnings."""
    import datasets
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        transformers.logging.set_verbosity(level)
        transformers.logging.enable_progress_bar()
        datasets.enable_progress_bars()


def progress_callback(stage: str):
    """A trainer callback that logs one progress line per logged step: ``domain: step 1/2 loss 11.90``."""
    from transformers import TrainerCallback

    class StageProgress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" not in logs:
                return
            reward = f" reward {float(logs['reward']):.3f}" if "reward" in logs else ""
            logger.info("%s: step %d/%d loss %.4f%s", stage, state.global_step, state.max_steps, logs["loss"], reward)

    return StageProgress()


def recipe_path(config: DemoConfig, stage: str) -> Path:
    folder = Path(config.recipes) if config.recipes else TINY_RECIPES
    path = folder / f"{stage}.yaml"
    if not path.is_file():
        raise EhrR1Error(f"{path}: recipe not found (pass --recipes DIR with {', '.join(TRAINING)} .yaml files)")
    return path


def train_stage(config: DemoConfig, paths: Paths, stage: str, base: str) -> StageResult:
    """Train one stage with its recipe through TRL (``ehr_r1.training.sft_main`` / ``grpo_main``), from ``base``."""
    from transformers import PrinterCallback, ProgressCallback

    from ehr_r1.training import make_grpo_trainer, make_sft_trainer, parse_recipe, train_and_save

    recipe = recipe_path(config, stage)
    final = paths.checkpoint(stage)
    with own_output(final) as tmp, quiet_training():
        args = ["--model_name_or_path", base, "--dataset_name", str(paths.ins), "--output_dir", str(tmp)]
        args += ["--max_steps", str(config.max_steps)] if config.max_steps else []
        args += shlex.split(config.trl_args or "")
        parsed = parse_recipe(recipe, args=args)
        make = make_grpo_trainer if stage == "grpo" else make_sft_trainer
        trainer = make(*parsed, recipe=str(recipe), stage=stage, callbacks=[progress_callback(stage)])
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)
        summary = train_and_save(trainer, parsed[1], parsed[0])
    from ehr_r1.model_card import write_model_card

    write_model_card(final)  # named after the checkpoint's folder, not the temporary one it was trained in
    loss, reward = summary.get("final_loss"), summary.get("mean_reward")
    if loss is None or not math.isfinite(loss):
        raise EhrR1Error(f"training logged no finite loss (got {loss}); see the recipe's logging_steps")
    return StageResult(stage, output=str(final), steps=summary["steps"], final_loss=loss, mean_reward=reward)


def copy_checkpoint(source: Path, target: Path) -> None:
    """``target`` = a copy of the checkpoint ``source``: weights hard-linked where the filesystem allows."""
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in WEIGHTS:
            with contextlib.suppress(OSError):
                dest.hardlink_to(path)
                continue
        shutil.copy2(path, dest)


# ------------------------------------------------------------------------------------------------------- stages
def _score_text(results: dict) -> str:
    parts = []
    for kind, entry in results["aggregates"].items():
        score = entry.get("score")
        parts.append(f"{kind} {'n/a' if score is None else f'{score:.3f}'}")
    return ", ".join(parts)


class Demo:
    """The stages of one ``ehr-r1 demo`` run; ``run`` executes them in order."""

    def __init__(self, config: DemoConfig):
        self.config = config
        self.paths = Paths(Path(config.output).resolve())
        self.mimic = Path(config.mimic_dir) if config.mimic_dir else self.paths.mimic
        self.base = config.base_model or str(self.paths.tiny)

    def stages(self) -> list[Stage]:
        p, stages = self.paths, []
        if not self.config.mimic_dir:
            stages.append(Stage("synth-mimic", self.synth_mimic, p.mimic))
        if not self.config.base_model:
            stages.append(Stage("tiny-model", self.tiny_model, p.tiny))
        stages += [
            Stage("build-bench", self.build_bench, p.bench),
            Stage("build-ins", lambda: self.build_ins(None), p.ins),
            Stage("build-reasoning", self.build_reasoning, p.reasoning),
            Stage("mix-reasoning", lambda: self.build_ins(str(p.reasoning / "reasoning.jsonl")), p.ins),
        ]
        previous = self.base
        for name in TRAINING:
            stages.append(
                Stage(name, lambda n=name, b=previous: train_stage(self.config, p, n, b), p.checkpoint(name))
            )
            previous = str(p.checkpoint(name))
        stages += [
            Stage("model", self.final_model, p.model),
            Stage("eval", self.eval_model, p.eval),
            Stage("eval-logreg", self.eval_baseline, p.baseline),
            Stage("model-card", self.model_card, p.model / "README.md"),
        ]
        if self.config.push_to:
            stages.append(Stage("push", self.push))
        return stages

    # data
    def synth_mimic(self) -> None:
        from ehr_r1.synth import SynthConfig, write_synthetic_mimic

        out = self.paths.mimic
        rebuild = written_by(out) == "synth-mimic"  # only the demo's own earlier synthetic folder is replaced
        cfg = SynthConfig(patients=self.config.patients, seed=self.config.seed)
        write_synthetic_mimic(out, cfg, compression="none", overwrite=rebuild)

    def tiny_model(self) -> None:
        from ehr_r1.tiny_model import build_tiny_model

        build_tiny_model(self.paths.tiny, seed=self.config.seed)

    def _build_config(self, dataset: str, output: Path, per_task: int, **kwargs):
        from ehr_r1.builder import BuildConfig

        return BuildConfig(str(self.mimic), str(output), dataset=dataset, max_per_task=per_task,
                           max_length=self.config.max_length, tokenizer=self.base, **kwargs)  # fmt: skip

    def build_bench(self) -> StageResult:
        from ehr_r1.builder import build_dataset

        manifest = build_dataset(self._build_config("ehr-bench", self.paths.bench, self.config.bench_per_task))
        return StageResult("build-bench", score=f"{sum(manifest['counts'].values())} samples")

    def build_ins(self, reasoning_file: str | None) -> StageResult:
        from ehr_r1.builder import build_dataset

        cfg = self._build_config("ehr-ins", self.paths.ins, self.config.max_per_task, cpt=False,
                                 check_disjoint=str(self.paths.bench), reasoning_file=reasoning_file)  # fmt: skip
        manifest = build_dataset(cfg)
        return StageResult("", score=f"{sum(manifest['counts'].values())} samples")

    def build_reasoning(self) -> StageResult:
        from ehr_r1.reasoning.config import ReasoningConfig, SelectionConfig, TeacherConfig
        from ehr_r1.reasoning.pipeline import build

        counts = layout.read_manifest(self.paths.ins).get("counts") or {}
        tasks = self.config.reasoning_tasks or tuple(t for t in REASONING_TASKS if counts.get(t))
        if not tasks:
            raise EhrR1Error(f"{self.paths.ins}: none of {', '.join(REASONING_TASKS)}; pass --reasoning-tasks")
        cfg = ReasoningConfig(
            ins=str(self.paths.ins),
            output=str(self.paths.reasoning),
            tasks=tasks,
            seed=self.config.seed,
            overwrite=False,
            selection=SelectionConfig(min_support=1, lift_threshold=0),  # a few samples per task: keep every pair
            teacher=TeacherConfig(kind="template"),
        )
        manifest = build(cfg)
        if not manifest["kept"]:
            raise EhrR1Error(f"{self.paths.reasoning}: the template teacher kept no chain; add --reasoning-tasks")
        return StageResult("", score=f"{manifest['kept']} chains")

    # model and evaluation
    def final_model(self) -> None:
        with own_output(self.paths.model) as tmp:
            copy_checkpoint(self.paths.checkpoint(TRAINING[-1]), tmp)

    def _evaluate(self, output: Path, **kwargs) -> StageResult:
        from ehr_r1.evaluation import evaluate_bench
        from ehr_r1.evaluation.config import EvalConfig

        config = EvalConfig(bench=str(self.paths.bench), output=str(output), overwrite=True, **kwargs)
        results = evaluate_bench(config)
        return StageResult("", score=_score_text(results))

    def eval_model(self) -> StageResult:
        with quiet_training():
            return self._evaluate(self.paths.eval, model=str(self.paths.model), limit=self.config.eval_limit,
                                  max_new_tokens=self.config.max_new_tokens)  # fmt: skip

    def eval_baseline(self) -> StageResult:
        return self._evaluate(self.paths.baseline, baseline="logreg", train=str(self.paths.ins))

    def model_card(self) -> None:
        from ehr_r1.model_card import write_model_card

        write_model_card(self.paths.model, results=self.paths.eval / "results.json")

    def push(self) -> StageResult:
        from ehr_r1 import hub

        org, endpoint = self.config.push_to, self.config.endpoint
        pushes = [
            (hub.push_dataset, self.paths.bench, f"{org}/{BENCH_REPO}", {}),
            (hub.push_dataset, self.paths.ins, f"{org}/{INS_REPO}", {}),
            (hub.push_model, self.paths.model, f"{org}/{MODEL_REPO}", {"results": self.paths.eval / "results.json"}),
        ]
        for push, folder, repo_id, extra in pushes:  # every guard first: a refusal leaves nothing half-released
            push(folder, repo_id, endpoint=endpoint, check_only=True, **extra)
        urls = [push(folder, repo_id, endpoint=endpoint, **extra) for push, folder, repo_id, extra in pushes]
        return StageResult("", score=f"{len(urls)} repos: {org}/{BENCH_REPO}, {INS_REPO}, {MODEL_REPO}")


# ------------------------------------------------------------------------------------------------------ running
def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    message = text[0] if text else ""
    message = message if isinstance(err, EhrR1Error) else f"{type(err).__name__}: {message}".rstrip(": ")
    return message if len(message) <= 400 else message[:397] + "..."


def _run_stage(stage: Stage, index: int, total: int, echo: Callable[[str], None]) -> StageResult:
    echo(f"[{index}/{total}] {stage.name} ...")
    started = time.perf_counter()
    try:
        result = stage.run() or StageResult(stage.name)
    except KeyboardInterrupt:
        raise
    except Exception as err:
        raise EhrR1Error(f"demo stage {stage.name} failed: {_one_line(err)}") from err
    result.stage, result.seconds = stage.name, round(time.perf_counter() - started, 2)
    result.output = result.output or (str(stage.output) if stage.output else None)
    echo(
        f"[{index}/{total}] {stage.name}: done in {result.seconds:.1f} s"
        + (f" ({result.score})" if result.score else "")
    )
    return result


def run_demo(config: DemoConfig, echo: Callable[[str], None] = logger.info) -> list[StageResult]:
    """Run every stage (from ``config.from_stage``); one line per stage through ``echo``. Returns the stage results.

    Raises:
        EhrR1Error: a refused output folder, or the first stage that failed (named), after the manifest records it.
    """
    demo = Demo(config)
    root = demo.paths.root
    check_demo_output(root, [config.mimic_dir, config.base_model])
    stages = demo.stages()
    names = [s.name for s in stages]
    start = 0
    if config.from_stage:
        if config.from_stage not in names:
            raise EhrR1Error(f"--from-stage {config.from_stage!r}: not a stage of this demo ({', '.join(names)})")
        start = names.index(config.from_stage)
        missing = [str(s.output) for s in stages[:start] if s.output and not s.output.exists()]
        if missing:
            raise EhrR1Error(f"--from-stage {config.from_stage}: earlier outputs missing ({', '.join(missing)})")
    before = previous_results(root)
    results = [StageResult(**before[s.name]) if s.name in before else StageResult(s.name, skipped=True)
               for s in stages[:start]]  # fmt: skip
    write_manifest(root, config, results, "running")
    for index, stage in enumerate(stages[start:], start + 1):
        try:
            results.append(_run_stage(stage, index, len(stages), echo))
        except BaseException:
            write_manifest(root, config, results, f"failed at {stage.name}")
            raise
        write_manifest(root, config, results, "running")
    write_manifest(root, config, results, "done")
    return results


def format_table(results: list[StageResult]) -> str:
    """The final table: stage, seconds, steps, final loss or mean reward, score."""
    header = ("stage", "seconds", "steps", "loss / reward", "score")
    rows = []
    for r in results:
        metric = "" if r.final_loss is None else f"loss {r.final_loss:.4f}"
        metric = f"reward {r.mean_reward:.4f}" if r.mean_reward is not None else metric
        seconds = "skipped" if r.skipped else f"{r.seconds:.1f}"
        rows.append((r.stage, seconds, "" if r.steps is None else str(r.steps), metric, r.score or ""))
    rows.append(("total", f"{sum(r.seconds for r in results):.1f}", "", "", ""))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
