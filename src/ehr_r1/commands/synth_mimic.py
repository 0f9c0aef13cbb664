# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 synth-mimic``: write a synthetic MIMIC-IV folder (hosp, icu, ed, note) for tests, demos and benchmarks.

Example::

    ehr-r1 synth-mimic --output data/synth-mimic --patients 1000 --seed 0
    ehr-r1 synth-mimic --output /tmp/big --patients 20000 --density 2 --compression none   # a scale benchmark input
"""

import logging
import time
from dataclasses import dataclass, field

from ehr_r1.errors import EhrR1Error
from ehr_r1.synth.config import CHUNK_PATIENTS, SynthConfig


HELP = "Write a synthetic MIMIC-IV folder (hosp, icu, ed, note)."
EPILOG = (
    f"Patients are generated in chunks of {CHUNK_PATIENTS:,} with independent random streams: a larger run with "
    "the same seed starts with exactly the patients of a smaller one. Every value is synthetic."
)
logger = logging.getLogger(__name__)


@dataclass
class SynthMimicConfig:
    """Options of ``ehr-r1 synth-mimic``: what to generate (`SynthConfig`) and how to write it.

    Args:
        output (`str`): folder to create (``hosp/``, ``icu/``, ``ed/``, ``note/`` inside).
        synth (`SynthConfig`): patients, seed, density and modules.
        compression (`str`, defaults to `"gzip"`): ``gzip`` (``<table>.csv.gz``) or ``none`` (``<table>.csv``).
        compresslevel (`int`, defaults to 1): gzip level 1-9.
        workers (`int | None`): threads for CSV formatting and compression (default: up to 8, one per CPU).
        overwrite (`bool`): replace ``output`` if it exists.
    """

    output: str = field(
        metadata={"help": "Folder to create (hosp/, icu/, ed/, note/ inside).", "aliases": ["--out", "-o"]}
    )
    synth: SynthConfig = field(default_factory=SynthConfig)
    compression: str = field(
        default="gzip",
        metadata={
            "help": "gzip: <table>.csv.gz as PhysioNet ships them; none: plain <table>.csv, much faster.",
            "choices": ("gzip", "none"),
        },
    )
    compresslevel: int = field(default=1, metadata={"help": "gzip level 1-9 (1 is the fastest)."})
    workers: int | None = field(
        default=None, metadata={"help": "Threads for CSV formatting and compression (default: up to 8)."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace --output if it exists."})

    def __post_init__(self):
        if self.compression not in ("gzip", "none"):
            raise EhrR1Error(f"--compression must be gzip or none, got {self.compression!r}")
        if not 1 <= self.compresslevel <= 9:
            raise EhrR1Error(f"--compresslevel must be between 1 and 9, got {self.compresslevel}")
        if self.workers is not None and self.workers < 1:
            raise EhrR1Error(f"--workers must be >= 1, got {self.workers}")


CONFIG = SynthMimicConfig


def run(config: SynthMimicConfig) -> int:
    from ehr_r1.synth.writer import write_synthetic_mimic

    cfg, started = config.synth, time.perf_counter()

    def progress(done: int, total: int) -> None:
        logger.info("chunk %d/%d generated (%.1f s)", done, total, time.perf_counter() - started)

    rows = write_synthetic_mimic(
        config.output,
        cfg,
        compression=config.compression,
        compresslevel=config.compresslevel,
        overwrite=config.overwrite,
        workers=config.workers,
        progress=progress,
    )
    for table, n in rows.items():
        logger.debug("%-28s %12d rows", table, n)
    print(  # noqa: T201 - the command's result line
        f"wrote {config.output}: {cfg.patients:,} patients, {len(rows)} tables, {sum(rows.values()):,} rows "
        f"({', '.join(cfg.modules)}) in {time.perf_counter() - started:.1f} s"
    )
    return 0
