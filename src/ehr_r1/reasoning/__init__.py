# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Thinking-graph reasoning synthesis (``docs/reasoning.md``): EHR-Ins samples → reasoning chains for stage-2 SFT.

One module per step, data flowing one way:
``concepts`` (per-event concepts) → ``cooccurrence`` (N, n(c), n(t,h), Lift) → ``knowledge`` / ``umls`` + ``graph``
(open knowledge graph and relation paths) → ``teacher`` (any OpenAI-compatible endpoint, or the offline
knowledge-path template) → ``filter`` → ``writer`` (dataset folder, card, manifest, ``reasoning.jsonl``).
``pipeline`` wires them; ``config`` holds the options (``ehr-r1 build-reasoning``).
"""

from ehr_r1.reasoning.config import FilterConfig, ReasoningConfig, SelectionConfig, TeacherConfig


__all__ = ["FilterConfig", "ReasoningConfig", "SelectionConfig", "TeacherConfig"]
