# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Filesystem helpers: outputs appear whole or not at all, and never destroy what the project did not write.

``atomic_output_dir`` is the one way a command writes a folder:

- it refuses, before any work, an output that is, contains or lies inside one of the command's inputs (a user's
  MIMIC-IV copy is irreplaceable); an existing folder that no ``ehr-r1`` command wrote (recognised by its
  ``manifest.json``, or ``synthetic_mimic.json``), whatever the flags; and one that another command wrote unless
  ``overwrite`` is given. A previous output of the same command is replaced (a rebuild);
- the work happens in a hidden sibling ``.<name>.tmp-*``; two runs into one output are serialised by a lock
  (the second refuses);
- the finished folder is swapped in with one atomic exchange (``renameat2(RENAME_EXCHANGE)``), so a kill at any
  instant leaves the old or the new output; the old one is then deleted. A run killed mid-build leaves only its
  temporary folder, which the next run into the same output deletes first.
"""

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from ehr_r1 import layout
from ehr_r1.errors import EhrR1Error


SYNTH_RECORD = "synthetic_mimic.json"  # what `ehr-r1 synth-mimic` writes beside its tables
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EFBIG}


def disk_error(err: BaseException, where: str | os.PathLike) -> EhrR1Error | None:
    """A one-line error when ``err`` is a full, read-only or size-limited disk (an OSError, or a polars / pyarrow
    error carrying ``(os error N)``), else None."""
    code = err.errno if isinstance(err, OSError) else None
    if code is None:
        match = re.search(r"\(os error (\d+)\)", str(err))
        code = int(match.group(1)) if match else None
    if code not in _DISK_ERRORS:
        return None
    return EhrR1Error(f"{where}: cannot write ({os.strerror(code)}); nothing was written")


def written_by(folder: Path) -> str | None:
    """The ``ehr-r1`` command that wrote ``folder``, from its manifest (``command``, or ``dataset`` for older
    builds), or None when no ehr-r1 command did."""
    if (folder / SYNTH_RECORD).is_file():
        return "synth-mimic"
    try:
        manifest = json.loads((folder / layout.MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    legacy = {"ehr-bench": "build-bench", "ehr-ins": "build-ins"}.get(manifest.get("dataset"))
    return manifest.get("command") or legacy


def _related(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def check_not_inputs(final: str | os.PathLike, inputs: Iterable[str | os.PathLike | None]) -> None:
    """A one-line error when ``final`` is, contains or lies inside one of ``inputs`` (``None`` entries skipped)."""
    final = Path(final).resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if _related(final, source):
            where = "is" if final == source else "contains" if final in source.parents else "lies inside"
            raise EhrR1Error(f"--output {final} {where} the input {source}: choose another folder")


def check_output(final: Path, inputs: Iterable[str | os.PathLike | None], command: str | None, overwrite: bool):
    """One-line errors for an output that would destroy an input or a folder this command did not write."""
    check_not_inputs(final, inputs)
    if not final.exists():
        return
    if not final.is_dir():
        raise EhrR1Error(f"--output {final}: a file exists there; choose another path")
    if not any(final.iterdir()):
        return
    writer = written_by(final)
    if writer is None:
        raise EhrR1Error(f"--output {final}: an existing folder that ehr-r1 did not write; choose another one")
    if writer != command and not overwrite:
        raise EhrR1Error(f"--output {final}: written by `ehr-r1 {writer}`; pass --overwrite to replace it")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where the system cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _swap_in(tmp: Path, final: Path) -> None:
    if not final.exists():
        tmp.rename(final)
        return
    if _exchange(tmp, final):
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"  # no atomic exchange: two renames
    final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _lock(final: Path) -> Iterator[None]:
    path = final.parent / f".{final.name}.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EhrR1Error(f"--output {final}: another ehr-r1 run is writing there; wait for it") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _writable_parent(final: Path) -> None:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EhrR1Error(f"--output {final}: cannot create its folder ({err.strerror})") from None
    if not os.access(final.parent, os.W_OK):
        raise EhrR1Error(f"--output {final}: {final.parent} is not writable")


@contextlib.contextmanager
def atomic_output_dir(
    final: str | os.PathLike,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    command: str | None = None,
) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces ``final``, on any error it is removed.

    Args:
        final: the output folder.
        overwrite: replace an existing folder even if ``command`` did not write it.
        inputs: the command's input paths; an output related to any of them is refused.
        command: the ``ehr-r1`` command writing (its outputs' manifests say ``"command": command``).
    """
    final = Path(final).resolve()
    check_output(final, inputs, command, overwrite)
    _writable_parent(final)
    with _lock(final):
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            yield tmp
            _swap_in(tmp, final)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            disk = disk_error(err, f"--output {final}")
            if disk is not None:
                raise disk from None
            if isinstance(err, EhrR1Error) and str(tmp) in str(err):  # name the output, not its hidden work folder
                raise EhrR1Error(re.sub(re.escape(str(tmp)) + r"\S*", f"--output {final}", str(err))) from None
            raise
