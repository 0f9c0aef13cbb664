# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``report.md`` (tables) and ``per_task.png`` (per-task scores with CI error bars) from results.json's content."""

from pathlib import Path

from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION


TITLES = {DECISION_MAKING: ("Decision making", "F1"), RISK_PREDICTION: ("Risk prediction", "AUROC")}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _ci(entry: dict) -> str:
    return f"[{_fmt(entry.get('ci_low'))}, {_fmt(entry.get('ci_high'))}]"


def _failure_lines(failures: dict) -> list[str]:
    if not failures.get("n_failed"):
        return []
    reasons = ", ".join(f"{kind}: {n}" for kind, n in failures.get("by_reason", {}).items())
    line = (
        f"- **{failures['n_failed']} samples failed** (no answer after retries; left out of the scores, counted in "
        f"the `failed` columns; reasons in predictions.jsonl): {reasons}"
    )
    return [line]


def markdown(results: dict) -> str:
    """The report as Markdown."""
    who = results["model"] if not results.get("baseline") else f"baseline: {results['baseline']}"
    level = int(results["bootstrap"]["confidence"] * 100)
    decoding = results.get("decoding")
    how = (
        f"- protocol: {results.get('protocol')} ({decoding.get('prompt', 'n/a')})\n"
        f"- decoding: greedy, max_new_tokens={decoding['max_new_tokens']}, "
        f"thinking on decision-making={decoding['think_decision_making']}, risk scored by P(yes)"
        if decoding
        else f"- baseline fitted on: {results['settings'].get('train') or 'the bench itself (see ehr_r1.evaluation.baselines)'}"
    )
    lines = [
        f"# EHR-Bench results: {who}",
        "",
        (
            f"- backend: {results.get('backend') or 'n/a'}; bench: `{results['bench']['path']}` "
            f"(fingerprint `{results['bench']['fingerprint']}`, {results['bench']['n_samples']} samples)"
        ),
        how,
        f"- {level}% CIs: bootstrap, {results['bootstrap']['n_resamples']} resamples, seed {results['bootstrap']['seed']}",
        f"- ehr-r1 {results['ehr_r1_version']}, {results['created_at']}",
        *_failure_lines(results.get("failures") or {}),
        "",
        "| aggregate | tasks | samples | score | CI | unparseable | failed |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for kind, entry in results["aggregates"].items():
        title, metric = TITLES[kind]
        lines.append(
            f"| {title} (mean {metric}) | {entry.get('n_tasks', 0)} | {entry['n']} | {_fmt(entry['score'])} "
            f"| {_ci(entry)} | {entry['n_unparseable']} | {entry.get('n_failed', 0)} |"
        )
    for kind, (title, metric) in TITLES.items():
        tasks = {t: e for t, e in results["tasks"].items() if e["task_type"] == kind}
        if not tasks:
            continue
        extra = ("precision", "recall") if kind == DECISION_MAKING else ("prevalence",)
        lines += [
            "",
            f"## {title}",
            "",
            f"| task | n | {metric} | CI | {' | '.join(extra)} | unparseable | failed | truncated |",
        ]
        lines.append("|---|---:|---:|---|" + "---:|" * (len(extra) + 3))
        for task, e in tasks.items():
            cells = " | ".join(_fmt(e.get(k)) for k in extra)
            lines.append(
                f"| {task} | {e['n']} | {_fmt(e['score'])} | {_ci(e)} | {cells} | {e['n_unparseable']} "
                f"| {e.get('n_failed', 0)} | {e.get('n_truncated', 0)} |"
            )
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    """Horizontal bar chart per task type with CI error bars (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in TITLES if any(e["task_type"] == k for e in results["tasks"].values())]
    sizes = [sum(e["task_type"] == k for e in results["tasks"].values()) for k in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(8, 1.5 + 0.3 * sum(sizes) + len(panels)), height_ratios=sizes, squeeze=False
    )
    for ax, kind in zip(axes[:, 0], panels, strict=True):
        title, metric = TITLES[kind]
        tasks = sorted(t for t, e in results["tasks"].items() if e["task_type"] == kind)
        entries = [results["tasks"][t] for t in tasks]
        scores = [e["score"] if e["score"] is not None else 0.0 for e in entries]
        low = [s - (e["ci_low"] if e["ci_low"] is not None else s) for s, e in zip(scores, entries, strict=True)]
        high = [(e["ci_high"] if e["ci_high"] is not None else s) - s for s, e in zip(scores, entries, strict=True)]
        ax.barh(tasks, scores, xerr=[low, high], color="tab:blue" if kind == DECISION_MAKING else "tab:orange")
        for row, entry in enumerate(entries):
            if entry["score"] is None:
                why = "no answers (all failed)" if entry["n"] == 0 else "undefined (one class only)"
                ax.text(0.01, row, why, va="center", fontsize=7, color="grey")
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        agg = results["aggregates"].get(kind, {})
        ax.set_title(f"{title}: mean {metric} {_fmt(agg.get('score'))} {_ci(agg)}", fontsize=10)
        ax.set_xlabel(metric)
        if kind == RISK_PREDICTION:
            ax.axvline(0.5, color="grey", linestyle="--", linewidth=0.8)
        ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(results: dict, out: str | Path) -> None:
    """Write ``report.md`` and ``per_task.png`` into ``out``."""
    out = Path(out)
    (out / "report.md").write_text(markdown(results), encoding="utf-8")
    if results["tasks"]:
        plot(results, out / "per_task.png")
