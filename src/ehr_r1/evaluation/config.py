# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Configuration of ``ehr-r1 eval``."""

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    """
    Settings of one EHR-Bench evaluation run.

    Parameters:
        bench (`str`):
            A `build-bench` output folder, a released EHR-Bench `.jsonl` file, or a folder holding those files.
        output (`str`):
            Output folder: `predictions.jsonl`, `results.json`, `report.md`, `per_task.png`.
        model (`str` or `None`, *optional*, defaults to `None`):
            Local path or Hub id (transformers backend) or served model name (openai backend). Not needed with
            `baseline`.
        backend (`str`, *optional*, defaults to `"transformers"`):
            `transformers` (in-process, batched, left padding) or `openai` (any OpenAI-compatible server).
        base_url (`str` or `None`, *optional*, defaults to `None`):
            Base URL of the OpenAI-compatible server, e.g. `http://127.0.0.1:8000/v1`.
        api_key_env (`str`, *optional*, defaults to `"OPENAI_API_KEY"`):
            Environment variable holding the API key (optional for local servers).
        tasks (`list[str]` or `None`, *optional*, defaults to `None`):
            Tasks to score; all when `None`.
        limit (`int` or `None`, *optional*, defaults to `None`):
            Score only `limit` samples per task, in file order (risk tasks alternate yes / no samples so that AUROC
            stays defined).
        max_new_tokens (`int`, *optional*, defaults to `4096`):
            Generation budget of decision-making answers (thinking included).
        batch_size (`int`, *optional*, defaults to `8`):
            Samples per forward pass (transformers) or concurrent requests (openai).
        max_model_len (`int` or `None`, *optional*, defaults to `None`):
            Context length for truncation; defaults to min(32000, the model's max positions).
        think (`bool`, *optional*, defaults to `True`):
            Thinking for decision-making tasks (`/think`, as in training). Risk tasks never think.
        candidate_prompt (`bool`, *optional*, defaults to `False`):
            Add the candidate list and answer-format lines for untrained baselines (spec §5.4).
        dtype (`str`, *optional*, defaults to `"auto"`):
            transformers dtype: `auto`, `float32`, `bfloat16` or `float16`.
        device (`str` or `None`, *optional*, defaults to `None`):
            transformers device; `cuda` when available, else `cpu`.
        tokenizer (`str` or `None`, *optional*, defaults to `None`):
            openai backend: tokenizer path/id used for truncation; the model path when it is a local folder.
        top_logprobs (`int`, *optional*, defaults to `20`):
            openai backend: number of top logprobs requested for risk scoring.
        template_kwargs (`bool`, *optional*, defaults to `True`):
            openai backend: send `chat_template_kwargs={"enable_thinking": ...}` (vLLM / SGLang); turn off for hosted
            APIs that reject unknown fields.
        request_timeout (`float`, *optional*, defaults to `600.0`):
            openai backend: seconds per request.
        baseline (`str` or `None`, *optional*, defaults to `None`):
            `frequency` or `logreg` instead of a model (see `ehr_r1.evaluation.baselines`).
        train (`str` or `None`, *optional*, defaults to `None`):
            Training data for baselines (a bench-layout or EHR-Ins folder of parquet files, or JSONL).
        cv_folds (`int`, *optional*, defaults to `5`):
            Folds of the cross-fitted `logreg` baseline when `train` is not given.
        n_resamples (`int`, *optional*, defaults to `1000`):
            Bootstrap resamples for the confidence intervals.
        seed (`int`, *optional*, defaults to `0`):
            Bootstrap (and baseline) seed.
        confidence (`float`, *optional*, defaults to `0.95`):
            Confidence level of the intervals.
        overwrite (`bool`, *optional*, defaults to `False`):
            Discard cached predictions in `output` instead of resuming.
    """

    bench: str = field(metadata={"help": "build-bench folder, EHR-Bench .jsonl file, or a folder of them."})
    output: str = field(metadata={"help": "Output folder."})
    model: str | None = field(default=None, metadata={"help": "Model path / Hub id / served model name."})
    backend: str = field(default="transformers", metadata={"help": "transformers or openai."})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible base URL (…/v1)."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "Env var holding the API key."})
    tasks: list[str] | None = field(default=None, metadata={"help": "Tasks to score (default: all)."})
    limit: int | None = field(
        default=None, metadata={"help": "N samples per task (file order; risk tasks alternate yes/no)."}
    )
    max_new_tokens: int = field(default=4096, metadata={"help": "Decision-making generation budget."})
    batch_size: int = field(default=8, metadata={"help": "Batch size / concurrent requests."})
    max_model_len: int | None = field(default=None, metadata={"help": "Context length used for truncation."})
    think: bool = field(default=True, metadata={"help": "Thinking for decision-making tasks."})
    candidate_prompt: bool = field(default=False, metadata={"help": "Add candidate list / format lines (§5.4)."})
    dtype: str = field(default="auto", metadata={"help": "auto, float32, bfloat16 or float16."})
    device: str | None = field(default=None, metadata={"help": "Device (default cuda if available, else cpu)."})
    tokenizer: str | None = field(default=None, metadata={"help": "openai backend: tokenizer for truncation."})
    top_logprobs: int = field(default=20, metadata={"help": "openai backend: top logprobs for risk."})
    template_kwargs: bool = field(default=True, metadata={"help": "openai backend: send chat_template_kwargs."})
    request_timeout: float = field(default=600.0, metadata={"help": "openai backend: seconds per request."})
    baseline: str | None = field(default=None, metadata={"help": "frequency or logreg instead of a model."})
    train: str | None = field(default=None, metadata={"help": "Training data for baselines."})
    cv_folds: int = field(default=5, metadata={"help": "Cross-fitting folds of logreg without --train."})
    n_resamples: int = field(default=1000, metadata={"help": "Bootstrap resamples."})
    seed: int = field(default=0, metadata={"help": "Bootstrap / baseline seed."})
    confidence: float = field(default=0.95, metadata={"help": "CI level."})
    overwrite: bool = field(default=False, metadata={"help": "Discard cached predictions."})
