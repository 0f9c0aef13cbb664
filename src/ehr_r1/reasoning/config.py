# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Options of ``ehr-r1 build-reasoning`` as config dataclasses; ``ehr_r1.cli_args`` turns each field into one option.

Defaults are the reference's final run (``docs/reasoning.md``). `ReasoningConfig` nests `SelectionConfig` (concept
selection and paths), `TeacherConfig` (the teacher) and `FilterConfig` (the quality filter); their fields are
flattened into one option each, and ``--config FILE.yaml`` takes them flat or as nested mappings
(``teacher: {url: ..., model: ...}``).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from ehr_r1.errors import EhrR1Error


VARIANTS = ("graph", "no-graph", "free")
TEMPLATE_TEACHER, OPENAI_TEACHER = "template", "openai"
EXCLUDED_TASKS = ("next_event", "discharge")  # no reasoning for next_event; discharge dropped, as in the reference
LEAK_PHRASES = (
    "ground truth",
    "ground-truth",
    "according to the answer",
    "according to the label",
    "the answer provided",
    "the provided answer",
    "given answer",
    "knowledge provided",
    "provided knowledge",
    "the knowledge paths",
)
SECTIONS = ("## Extraction", "## Reasoning", "## Final Results")


def _at_least(flag: str, value: float | None, low: float) -> None:
    if value is not None and value < low:
        raise EhrR1Error(f"{flag} must be >= {low}, got {value}")


def _within(flag: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise EhrR1Error(f"{flag} must be in [{low}, {high}], got {value}")


@dataclass
class SelectionConfig:
    """Concept selection by Lift and relation paths."""

    min_support: int = field(default=5, metadata={"help": "Keep a history concept only if n(h) >= this."})
    lift_threshold: float = field(default=5.0, metadata={"help": "Keep a (target, history) pair only if Lift > this."})
    top_k: int = field(default=20, metadata={"help": "History concepts kept per target concept, by Lift."})
    max_path_length: int = field(default=10, metadata={"help": "Longest relation path searched, in edges."})
    max_paths: int = field(
        default=10, metadata={"help": "Candidate paths examined per pair when the shortest breaks the inverse rule."}
    )
    max_paths_per_sample: int = field(
        default=10, metadata={"help": "Thinking-graph paths kept per sample (highest Lift first)."}
    )

    def __post_init__(self):
        for name in ("min_support", "top_k", "max_path_length", "max_paths", "max_paths_per_sample"):
            _at_least(f"--{name.replace('_', '-')}", getattr(self, name), 1)
        _at_least("--lift-threshold", self.lift_threshold, 0)


@dataclass
class TeacherConfig:
    """The teacher that writes the chains: the offline template or an OpenAI-compatible endpoint."""

    kind: Literal["template", "openai"] | None = field(
        default=None,
        metadata={
            "help": "template: the offline knowledge-path baseline (not an LLM); openai: the endpoint at "
            "--teacher-url. Default: openai when --teacher-url is given, else template.",
            "flag": "--teacher",
        },
    )
    url: str | None = field(
        default=None,
        metadata={"help": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.", "flag": "--teacher-url"},
    )
    model: str | None = field(
        default=None,
        metadata={"help": "Model name sent to the teacher (required with --teacher-url).", "flag": "--teacher-model"},
    )
    variant: Literal["graph", "no-graph", "free"] = field(
        default="graph", metadata={"help": "Prompt: with the knowledge paths, without them, or free-form."}
    )
    n: int = field(default=3, metadata={"help": "Completions per sample."})
    temperature: float = field(default=0.5, metadata={"help": "Sampling temperature."})
    max_tokens: int | None = field(default=4096, metadata={"help": "Completion length cap sent to the server."})
    seed: int = field(
        default=0, metadata={"help": "Sampling seed sent to the server: ReasoningConfig.seed.", "cli": False}
    )
    concurrency: int = field(default=64, metadata={"help": "Requests in flight."})
    timeout: float = field(default=120.0, metadata={"help": "Per-request timeout in seconds."})
    retries: int = field(default=4, metadata={"help": "Retries per request (429, 5xx, timeouts, malformed answers)."})
    backoff: float = field(
        default=1.0, metadata={"help": "First retry delay in seconds; doubles, with jitter, to 30 s."}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "Environment variable holding the API key (never logged or written)."},
    )
    max_failed_fraction: float = field(
        default=0.05, metadata={"help": "Exit with status 1 when a larger share of the requests failed."}
    )

    def __post_init__(self):
        if self.kind == TEMPLATE_TEACHER and self.url:
            raise EhrR1Error("--teacher template is the offline baseline and takes no --teacher-url")
        if self.offline:
            if self.model not in (None, TEMPLATE_TEACHER):
                raise EhrR1Error("--teacher-model needs an OpenAI-compatible teacher (--teacher-url URL)")
            if self.variant != "graph":
                raise EhrR1Error(
                    f"--variant {self.variant} needs --teacher-url: the template teacher writes the graph form"
                )
        else:
            if not self.url:
                raise EhrR1Error("--teacher openai needs --teacher-url URL (an OpenAI-compatible endpoint)")
            if not self.url.startswith(("http://", "https://")):
                raise EhrR1Error(f"--teacher-url must be an http(s) URL, got {redact_url(self.url)!r}")
            if not self.model:
                raise EhrR1Error("--teacher-model is required with --teacher-url")
        for name in ("n", "concurrency", "max_tokens"):
            _at_least(f"--{name.replace('_', '-')}", getattr(self, name), 1)
        _at_least("--retries", self.retries, 0)
        _at_least("--backoff", self.backoff, 0)
        _at_least("--temperature", self.temperature, 0)
        if self.timeout <= 0:
            raise EhrR1Error(f"--timeout must be > 0, got {self.timeout}")
        _within("--max-failed-fraction", self.max_failed_fraction, 0, 1)

    @property
    def offline(self) -> bool:
        """The template teacher: asked for, or the default when no ``--teacher-url`` is given."""
        return self.kind == TEMPLATE_TEACHER or (self.kind is None and not self.url)

    @property
    def name(self) -> str:
        """The teacher as the card and manifest name it: the model, or ``template``."""
        return TEMPLATE_TEACHER if self.offline else self.model

    def decoding(self) -> dict:
        """The settings that change a completion (part of the cache key)."""
        return {"n": self.n, "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}


@dataclass
class FilterConfig:
    """Quality filter of the chains."""

    min_recall: float = field(
        default=0.7, metadata={"help": "Share of the gold items that the Final Results section must name."}
    )
    leak_phrases: tuple[str, ...] = field(
        default=LEAK_PHRASES, metadata={"help": "Phrases that reveal the answer was seen (case-insensitive)."}
    )
    require_sections: bool = field(
        default=True,
        metadata={"help": "Require the Extraction / Reasoning / Final Results sections (not for --variant free)."},
    )

    def __post_init__(self):
        _within("--min-recall", self.min_recall, 0, 1)


@dataclass
class ReasoningConfig:
    """Options of ``ehr-r1 build-reasoning``."""

    ins: str = field(metadata={"help": "A built EHR-Ins folder (ehr-r1 build-ins)."})
    output: str = field(metadata={"help": "Output folder (written to a temporary folder, then renamed)."})
    max_samples: int | None = field(
        default=None,
        metadata={"help": "Samples sent to the teacher, balanced over tasks (default: every sample with a graph)."},
    )
    tasks: tuple[str, ...] | None = field(
        default=None, metadata={"help": "Only these decision-making tasks (comma- or space-separated).", "sep": ","}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the sample order and of the teacher's sampling."})
    atc_map: str | None = field(
        default=None,
        metadata={"help": "ethos folder (mimic_drug_to_atc.csv.gz, atc_coding.csv.gz): drug -> ATC edges."},
    )
    concept_maps: str | None = field(
        default=None,
        metadata={"help": "mimic-code concept_map folder: lab / ICU item -> LOINC, SNOMED, RxNorm edges."},
    )
    umls_dir: str | None = field(
        default=None, metadata={"help": "Folder with your licensed UMLS MRCONSO.RRF and MRREL.RRF."}
    )
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "Knowledge-graph cache (default: $EHR_R1_CACHE/knowledge or ~/.cache/ehr_r1/knowledge)."},
    )
    teacher_cache: str | None = field(
        default=None,
        metadata={"help": "Resumable request cache (default: .<output name>.teacher-cache.jsonl beside --output)."},
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)

    def __post_init__(self):
        _at_least("--max-samples", self.max_samples, 1)
        _at_least("--seed", self.seed, 0)
        if self.tasks is not None:
            self.tasks = tuple(self.tasks)
        if self.teacher.seed != self.seed:
            self.teacher = dataclasses.replace(self.teacher, seed=self.seed)

    def to_dict(self) -> dict:
        """JSON-safe settings for the manifest (no secrets: the API key is only ever read from the environment)."""
        out = dataclasses.asdict(self)
        out["teacher"]["url"] = redact_url(self.teacher.url)
        out["filter"]["leak_phrases"] = list(self.filter.leak_phrases)
        return out


def redact_url(url: str | None) -> str | None:
    """``url`` without user info, query or fragment (they may carry credentials)."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
