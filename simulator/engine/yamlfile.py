"""Reading a YAML input file: one-line errors with the line number, duplicate keys refused.

Uses libyaml's C parser when PyYAML has it (several times faster on the model file),
else the pure-Python one; both build the same plain data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InputError

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """A safe loader that refuses duplicate keys (YAML silently keeps the last otherwise)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        except TypeError:  # unhashable key: let the loader report it
            break
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, shown: str, what: str) -> tuple[Any, bytes]:
    """The parsed content and raw bytes of `path`; `shown` names it in errors, `what` says
    what kind of file it should be ("scenario file", "model file")."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(shown, "(file)", f"no such {what}") from None
    except IsADirectoryError:
        raise InputError(shown, "(file)", f"is a folder, not a {what}") from None
    except UnicodeDecodeError:
        raise InputError(shown, "(file)", "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(shown, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    try:
        return yaml.load(text, Loader=_Loader), raw  # noqa: S506 - a safe loader
    except _DuplicateKey as exc:
        raise InputError(shown, f"line {exc.line}", f"key {exc.key!r} given twice") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(shown, where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(shown, "(yaml)", f"malformed YAML: {exc}") from None
