"""`extends`: a scenario file merged with its parents, each entry remembering its file.

A child's `set:` and `uncertain:` entries override the parent's by name (a constant the
child sets is no longer uncertain, and vice versa); `targets:` is replaced as a whole;
`model:` is inherited; `name` and `label` are the child's own. `uncertain: {posterior:
FILE}` (joint draws, `simulator.scenario.posterior`) is one entry: a child's replaces the
parent's; a constant that a child sets, or gives its own distribution, is no longer drawn
from the parent's posterior.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.errors import suggest
from simulator.scenario.schema import (
    TOP_LEVEL_KEYS,
    FileIn,
    TargetIn,
    bundled_scenario_names,
    bundled_scenario_path,
    describe,
    display_path,
    one_line_error,
    pydantic_error,
    read_scenario_yaml,
)

#: most files in one `extends` chain (the file itself included): deeper chains are refused
#: with one line instead of exhausting the interpreter's stack
MAX_EXTENDS_DEPTH = 32
#: what a file reached through `extends:` or `model:` must be called (after following links)
YAML_SUFFIXES = (".yaml", ".yml")

# --------------------------------------------------------------------------- extends chain


@dataclass
class Layer:
    """A scenario file merged with its parents; every entry remembers its file."""

    name: str
    label: dict[str, str] | None
    model: tuple[str, Path, str] | None  # (reference, folder of the file, shown file)
    set: dict[str, tuple[Any, str]]
    uncertain: dict[str, tuple[Any, str]]
    targets: tuple[list[TargetIn], str] | None
    chain: list[Path]
    #: folder of the file whose `uncertain: {posterior: ...}` is in force (paths are relative to it)
    posterior_dir: Path | None = None
    #: constants set or given their own distribution by files that extend that one: their
    #: posterior columns are not drawn
    posterior_drop: frozenset[str] = frozenset()
    kind: str = "scenario"


def is_path_ref(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def check_reference(path: Path, ref: str, shown: str, field_: str) -> Path:
    """`path`, named by `ref` in the file `shown`, if it is a .yaml/.yml file once links are
    followed: a scenario from a stranger cannot make urbsd read `/etc/passwd` or a link
    named `x.yaml` that points at some other kind of file."""
    if Path(ref).suffix.lower() not in YAML_SUFFIXES:
        raise one_line_error(shown, field_, f"{ref!r}: a path here must name a .yaml or .yml file")
    target = Path(os.path.realpath(path))
    if target.suffix.lower() not in YAML_SUFFIXES:
        raise one_line_error(shown, field_, f"{ref!r} is a link to a file that is not a .yaml or .yml file")
    return path


def find_parent(ref: str, child: Path, shown: str) -> Path:
    here = child.parent
    if is_path_ref(ref):
        candidate = Path(ref).expanduser()
        candidate = candidate if candidate.is_absolute() else here / candidate
        check_reference(candidate, ref, shown, "extends")
        if not candidate.is_file():
            what = "not a regular file" if candidate.exists() else "no such parent scenario file"
            raise one_line_error(shown, "extends", f"{what}: {ref!r}")
        return candidate
    sibling = here / f"{ref}.yaml"
    if sibling.is_file() and not same_file(sibling, child):
        return check_reference(sibling, f"{ref}.yaml", shown, "extends")
    bundled = bundled_scenario_path(ref)
    if bundled.is_file():
        return bundled
    if sibling.is_file():
        raise one_line_error(shown, "extends", f"{ref!r} is this file itself; a scenario cannot extend itself")
    names = {p.stem for p in here.glob("*.yaml") if not same_file(p, child)}
    names.update(bundled_scenario_names())
    raise one_line_error(
        shown,
        "extends",
        f"unknown parent scenario {ref!r} (no {ref}.yaml next to this file or among the "
        f"bundled scenarios){suggest(ref, sorted(names))}",
    )


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def load_layer(path: Path, shown: str, stack: list[Path]) -> Layer:
    raw = read_scenario_yaml(path, shown)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else describe(raw)
        raise one_line_error(shown, "(top level)", f"expected a mapping of scenario keys, got {got}")
    for key in raw:
        if not isinstance(key, str) or key not in TOP_LEVEL_KEYS:
            raise one_line_error(
                shown,
                str(key),
                f"unknown key{suggest(str(key), TOP_LEVEL_KEYS)}; "
                f"expected {', '.join(TOP_LEVEL_KEYS)}",
            )
    for key in ("set", "uncertain"):  # the names inside: text keys only
        if isinstance(raw.get(key), dict):
            for name in raw[key]:
                if not isinstance(name, str):
                    raise one_line_error(shown, f"{key}.{name}", "expected the name of a constant")
    try:
        data = FileIn.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error(exc, shown) from None

    set_ = data.set or {}
    uncertain = data.uncertain or {}
    for name in set_:
        if name in uncertain:
            raise one_line_error(
                shown, f"uncertain.{name}", "also given in set:; a constant is either set or uncertain"
            )

    me = Path(os.path.abspath(path))
    if data.extends is not None:
        if len(stack) + 1 >= MAX_EXTENDS_DEPTH:
            raise one_line_error(shown, "extends", f"the chain of files that extend each other is longer than "
                                 f"{MAX_EXTENDS_DEPTH}; merge some of them")
        parent_path = Path(os.path.abspath(find_parent(data.extends, path, shown)))
        for seen in stack + [me]:
            if same_file(seen, parent_path):
                loop = " -> ".join(display_path(p) for p in stack + [me, parent_path])
                raise one_line_error(shown, "extends", f"cycle: {loop}")
        parent = load_layer(parent_path, display_path(parent_path), stack + [me])
    else:
        parent = Layer("", None, None, {}, {}, None, [])

    # A child's `uncertain:` entry keeps the parent's `set:` value for plain runs (sweeps
    # sample the distribution instead); a child's `set:` entry fixes a parent's uncertain one.
    merged_set = dict(parent.set)
    merged_set.update({k: (v, shown) for k, v in set_.items()})
    merged_unc = {k: v for k, v in parent.uncertain.items() if k not in set_}
    merged_unc.update({k: (v, shown) for k, v in uncertain.items()})
    if "posterior" in uncertain:  # this file's posterior: its own entries are checked against it later
        posterior_dir, posterior_drop = me.parent, frozenset()
    else:
        posterior_dir = parent.posterior_dir
        posterior_drop = parent.posterior_drop | set(set_) | set(uncertain)
    return Layer(
        name=data.name if data.name is not None else path.stem,
        label=data.label.model_dump() if data.label is not None else None,
        model=(data.model, me.parent, shown) if data.model is not None else parent.model,
        set=merged_set,
        uncertain=merged_unc,
        targets=(data.targets, shown) if data.targets is not None else parent.targets,
        chain=[me] + parent.chain,
        posterior_dir=posterior_dir,
        posterior_drop=frozenset(posterior_drop),
        kind=data.kind or "scenario",
    )
