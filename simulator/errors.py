"""Error types for bad input: one names the file, the field and the reason; one a time step too long for the model."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


#: most characters of the file and field parts of a message, and of its reason: text echoed
#: from an input (a value, a key, a path) is cut, so a hostile file cannot flood the terminal
MAX_PART = 200
MAX_REASON = 300


def clip(text: object, limit: int = MAX_PART) -> str:
    """`text` on one line, cut to `limit` characters (the middle replaced by '...')."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    head = (limit - 3) * 2 // 3
    return flat[:head] + "..." + flat[len(flat) - (limit - 3 - head):]


class InputError(Exception):
    """Bad input in a model or scenario file; printed as one line, exit status 2.

    Each part is flattened to one line and cut (MAX_PART, MAX_REASON characters).
    """

    def __init__(self, file: str | Path, field: str, reason: str) -> None:
        self.file = clip(file)
        self.field = clip(field)
        self.reason = clip(reason, MAX_REASON)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"

    def __reduce__(self):  # pickled whole: raised in a drawing process, raised again in its parent
        return type(self), (self.file, self.field, self.reason)


class StepTooLong(ValueError):
    """A time step at which a delay of the model is unstable (`engine.stability`); one line."""


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' hint for a misspelt name, or '' if nothing is close."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
