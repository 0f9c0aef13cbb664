# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Errors that reach users as one line: what is wrong and which file (and column) it is in."""


class EhrR1Error(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` on one line and exits with status 2."""


class InputError(EhrR1Error):
    """Bad input data: a missing table or column, a corrupt file, an unparseable value."""

    def __init__(self, path: object, message: str, column: str | None = None):
        where = f"{path}" + (f" (column {column!r})" if column else "")
        super().__init__(f"{where}: {message}")
        self.path, self.column = path, column
