# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Configuration of ``ehr-r1 eval``."""

from dataclasses import dataclass, field

from ehr_r1.errors import EhrR1Error


BACKENDS = ("transformers", "openai")
DTYPES = ("auto", "float32", "bfloat16", "float16")
BASELINES = ("frequency", "logreg")
# How prompts are written (see ``ehr_r1.evaluation.sample_prompt``): ``official`` as the released evaluation scripts
# (``test.py --prompt``), ``plain`` as training (no candidate list; the think switch appended).
OFFICIAL, PLAIN = "official", "plain"
PROTOCOLS = (OFFICIAL, PLAIN)


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
            At most this many sequences per forward pass (transformers) or concurrent requests (openai).
        max_batch_tokens (`int`, *optional*, defaults to `8192`):
            transformers backend: token budget of a batch. Batches are length-sorted and hold at most this many padded
            tokens (prompt plus `max_new_tokens` when generating); a longer prompt runs alone.
        max_model_len (`int` or `None`, *optional*, defaults to `None`):
            Context length for truncation; defaults to min(32000, the model's max positions).
        protocol (`str`, *optional*, defaults to `"official"`):
            Prompt protocol. `official`: as the released evaluation scripts (`test.py --prompt`): the instruction is
            followed by the sample's candidate list and the reference's answer-format note, and no think switch is
            appended. `plain`: as training: `{input}\\n{instruction}` and the think switch (`\\n/think` or
            `\\n/no_think`), no candidate list.
        think (`bool`, *optional*, defaults to `True`):
            Thinking for decision-making tasks (`enable_thinking`, plus `/think` under the `plain` protocol). Risk
            tasks never think.
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
        max_retries (`int`, *optional*, defaults to `3`):
            openai backend: retries of a request that timed out, got HTTP 408/429/5xx or a broken answer, with
            exponential backoff; then the sample is recorded as failed (excluded from the scores).
        retry_backoff (`float`, *optional*, defaults to `1.0`):
            openai backend: seconds before the first retry; doubled at each further retry.
        retry_failed (`int`, *optional*, defaults to `2`):
            Later runs (resumes) that retry a failed sample; after that it stays failed.
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
    backend: str = field(
        default="transformers",
        metadata={"help": "transformers (in-process) or openai (an OpenAI-compatible server).", "choices": BACKENDS},
    )
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible base URL (…/v1)."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "Env var holding the API key."})
    tasks: list[str] | None = field(default=None, metadata={"help": "Tasks to score (default: all)."})
    limit: int | None = field(
        default=None, metadata={"help": "N samples per task (file order; risk tasks alternate yes/no)."}
    )
    max_new_tokens: int = field(default=4096, metadata={"help": "Decision-making generation budget."})
    batch_size: int = field(default=8, metadata={"help": "Max sequences per batch / concurrent requests."})
    max_batch_tokens: int = field(
        default=8192, metadata={"help": "transformers backend: max padded tokens per length-sorted batch."}
    )
    max_model_len: int | None = field(default=None, metadata={"help": "Context length used for truncation."})
    protocol: str = field(
        default=OFFICIAL,
        metadata={
            "help": "official: the released test.py prompts (candidate list + answer-format note, no think switch); "
            "plain: the training prompts (think switch, no candidate list).",
            "choices": PROTOCOLS,
        },
    )
    think: bool = field(
        default=True, metadata={"help": "Thinking for decision-making tasks (enable_thinking; /think with plain)."}
    )
    dtype: str = field(default="auto", metadata={"help": "transformers backend: model dtype.", "choices": DTYPES})
    device: str | None = field(default=None, metadata={"help": "Device (default cuda if available, else cpu)."})
    tokenizer: str | None = field(default=None, metadata={"help": "openai backend: tokenizer for truncation."})
    top_logprobs: int = field(default=20, metadata={"help": "openai backend: top logprobs for risk."})
    template_kwargs: bool = field(
        default=True,
        metadata={"help": "openai backend: send chat_template_kwargs (turn off for hosted APIs that reject it)."},
    )
    request_timeout: float = field(default=600.0, metadata={"help": "openai backend: seconds per request."})
    max_retries: int = field(default=3, metadata={"help": "openai backend: retries of a failed request."})
    retry_backoff: float = field(
        default=1.0, metadata={"help": "openai backend: seconds before the first retry (doubles each retry)."}
    )
    retry_failed: int = field(default=2, metadata={"help": "Resumed runs that retry a failed sample."})
    baseline: str | None = field(
        default=None, metadata={"help": "A baseline instead of a model.", "choices": BASELINES}
    )
    train: str | None = field(default=None, metadata={"help": "Training data for baselines."})
    cv_folds: int = field(default=5, metadata={"help": "Cross-fitting folds of logreg without --train."})
    n_resamples: int = field(default=1000, metadata={"help": "Bootstrap resamples."})
    seed: int = field(default=0, metadata={"help": "Bootstrap / baseline seed."})
    confidence: float = field(default=0.95, metadata={"help": "Confidence level of the bootstrap intervals."})
    overwrite: bool = field(default=False, metadata={"help": "Discard cached predictions."})

    def __post_init__(self):
        if not self.baseline and not self.model:
            raise EhrR1Error("--model is required unless --baseline is given")
        choices = (("backend", BACKENDS), ("dtype", DTYPES), ("baseline", (None, *BASELINES)), ("protocol", PROTOCOLS))
        for name, allowed in choices:
            value = getattr(self, name)
            if value not in allowed:
                raise EhrR1Error(f"--{name} must be one of {', '.join(filter(None, allowed))}, got {value!r}")
        for name in ("limit", "max_new_tokens", "batch_size", "max_model_len", "top_logprobs", "n_resamples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise EhrR1Error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.cv_folds < 2:
            raise EhrR1Error(f"--cv-folds must be >= 2, got {self.cv_folds}")
        if self.max_batch_tokens < 1:
            raise EhrR1Error(f"--max-batch-tokens must be >= 1, got {self.max_batch_tokens}")
        if self.max_retries < 0 or self.retry_failed < 0 or not self.retry_backoff >= 0:
            raise EhrR1Error("--max-retries, --retry-failed and --retry-backoff must be >= 0")
        if not self.request_timeout > 0:
            raise EhrR1Error(f"--request-timeout must be > 0, got {self.request_timeout}")
        if not 0 < self.confidence < 1:
            raise EhrR1Error(f"--confidence must be in (0, 1), got {self.confidence}")
