"""The one error type for bad input: it names the file, the field and the reason."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class InputError(Exception):
    """Bad input in a model or scenario file; printed as one line, exit status 2."""

    def __init__(self, file: str | Path, field: str, reason: str) -> None:
        self.file = str(file)
        self.field = field
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' hint for a misspelt name, or '' if nothing is close."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
