"""Shared test helpers: write small model files from Python dicts."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

LABEL = {"zh": "测试", "en": "test"}


def element(**fields):
    """A model element with the required unit and label filled in."""
    return {"unit": "dimensionless", "label": dict(LABEL), **fields}


def replaced(model: dict, path: str, value) -> dict:
    """A deep copy of `model` with the field at dotted `path` set to `value` (None deletes it;
    a number in the path indexes a list)."""
    model = copy.deepcopy(model)
    *parents, last = path.split(".")
    node = model
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        del node[last]
    else:
        node[last] = value
    return model


@pytest.fixture
def write_model(tmp_path: Path):
    """Write a model dict to a YAML file and return its path."""

    def write(model: dict, name: str = "model.yaml") -> Path:
        base = {"name": "toy", "time": {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1}}
        path = tmp_path / name
        path.write_text(yaml.safe_dump({**base, **model}, allow_unicode=True), encoding="utf-8")
        return path

    return write
