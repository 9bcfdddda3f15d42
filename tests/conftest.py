"""Shared test helpers: write small model files from Python dicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

LABEL = {"zh": "测试", "en": "test"}


def element(**fields):
    """A model element with the required unit and label filled in."""
    return {"unit": "dimensionless", "label": dict(LABEL), **fields}


@pytest.fixture
def write_model(tmp_path: Path):
    """Write a model dict to a YAML file and return its path."""

    def write(model: dict, name: str = "model.yaml") -> Path:
        base = {"name": "toy", "time": {"start": 0, "stop": 10, "dt": 0.25, "saveper": 1}}
        path = tmp_path / name
        path.write_text(yaml.safe_dump({**base, **model}, allow_unicode=True), encoding="utf-8")
        return path

    return write
