"""Reading a YAML input file: one-line errors with the line number, duplicate keys refused,
and bounded work on hostile files.

Uses libyaml's C parser when PyYAML has it (several times faster on the model file),
else the pure-Python one; both build the same plain data.

A file from a stranger must not exhaust memory or time, so before anything is built:

- the file is read up to `MAX_FILE_BYTES` (a larger file is refused without reading it all);
- only regular files are read (not a FIFO, a device or /proc entry that never ends);
- the parsed node graph is measured *as expanded*: YAML aliases (`*a`) share one node, but
  everything that walks the data later (validation, hashing, error messages) walks every
  copy, so a "billion laughs" alias bomb of a few hundred bytes is refused here once its
  expansion passes `MAX_EXPANDED_NODES` nodes or `MAX_EXPANDED_CHARS` characters of
  scalars, and a recursive alias (`&a [*a]`) is refused outright.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InputError

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: largest YAML input read (the bundled model file is about 80 kB)
MAX_FILE_BYTES = 4 * 1024 * 1024
#: most nodes the document may have once every alias is expanded
MAX_EXPANDED_NODES = 1_000_000
#: most characters its scalars may hold once every alias is expanded
MAX_EXPANDED_CHARS = 16 * 1024 * 1024


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _TooBig(Exception):
    """The document expands beyond the budget (or refers to itself)."""


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node | None) -> tuple[int, int]:
    """(nodes, scalar characters) of the document with every alias expanded.

    Each distinct node is measured once (memoised by identity), so a bomb is measured in
    time proportional to its text, not its expansion. Raises `_TooBig` past the budget or
    on a node that contains itself. Iterative: no recursion limit on deep documents.
    """
    if root is None:
        return 0, 0
    done: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            nodes, chars = 1, 0
            for child in _children(node):
                n, c = done[id(child)]
                nodes += n
                chars += c
            if isinstance(node, yaml.ScalarNode):
                chars += len(node.value)
            if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
                raise _TooBig(f"the document expands (through aliases) to more than {MAX_EXPANDED_NODES:,} values "
                              f"or {MAX_EXPANDED_CHARS // (1024 * 1024)} MB of text")
            done[key] = (nodes, chars)
            on_path.discard(key)
            continue
        if key in done:
            continue
        if key in on_path:
            raise _TooBig("recursive alias: an alias refers to a value that contains it")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _TooBig("recursive alias: an alias refers to a value that contains it")
            if id(child) not in done:
                stack.append((child, False))
    return done[id(root)]


def read_bounded(path: Path, shown: str, what: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file `path`, refused (one line) if larger than `limit` (default
    MAX_FILE_BYTES) or not a regular file; `shown` names it in errors, `what` says what it should be."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(shown, "(file)", f"no such {what}") from None
    except IsADirectoryError:
        raise InputError(shown, "(file)", f"is a folder, not a {what}") from None
    except OSError as exc:
        raise InputError(shown, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(shown, "(file)", f"is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(shown, "(file)", f"not a regular file (a device, pipe or socket), not a {what}")
        if info.st_size > limit:
            raise InputError(shown, "(file)", f"{info.st_size:,} bytes; a {what} may have at most {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(limit + 1)
        if len(raw) > limit:  # grew while being read
            raise InputError(shown, "(file)", f"more than {limit:,} bytes; a {what} may have at most {limit:,}")
        return raw
    except OSError as exc:
        raise InputError(shown, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_yaml(path: Path, shown: str, what: str) -> tuple[Any, bytes]:
    """The parsed content and raw bytes of `path`; `shown` names it in errors, `what` says
    what kind of file it should be ("scenario file", "model file")."""
    raw = read_bounded(Path(path), shown, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(shown, "(file)", "not UTF-8 text") from None
    if "\x00" in text:
        raise InputError(shown, "(file)", "contains a NUL character; not a YAML text file")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        expanded_size(node)
        data = loader.construct_document(node) if node is not None else None
        return data, raw
    except _TooBig as exc:
        raise InputError(shown, "(yaml)", f"refused: {exc}") from None
    except _DuplicateKey as exc:
        raise InputError(shown, f"line {exc.line}", f"key {_short(exc.key)} given twice") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(shown, where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(shown, "(yaml)", f"malformed YAML: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        reason = "a number with more than 4300 digits" if "digits" in str(exc) else str(exc)
        raise InputError(shown, "(yaml)", f"unreadable value: {reason}") from None
    except RecursionError:
        raise InputError(shown, "(yaml)", "nested too deeply") from None
    finally:
        loader.dispose()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**50 else f"<{len(str(value))}-digit number>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
