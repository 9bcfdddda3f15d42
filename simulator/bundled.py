"""Where the model and scenario files shipped with urbsd live, installed or not.

pyproject.toml installs the repo's models/, scenarios/ and data/ as the data packages
`simulator.models`, `simulator.scenarios` and `simulator.data`; run from a checkout that is not installed
(or an editable install), they are the folders next to `simulator/`.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, folder: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except (ModuleNotFoundError, TypeError, ValueError):
        return _CHECKOUT / folder
    # a regular package gives a Path; a namespace package a MultiplexedPath (its first folder)
    found = Path(str(root.joinpath("_probe_"))).parent
    return found if found.is_dir() else _CHECKOUT / folder


def models_dir() -> Path:
    """The folder of the bundled model files."""
    return _package_dir("simulator.models", "models")


def scenarios_dir() -> Path:
    """The folder of the bundled scenario files."""
    return _package_dir("simulator.scenarios", "scenarios")


def data_dir() -> Path:
    """The folder of the bundled statistics (observed.csv, history.csv, their sources)."""
    return _package_dir("simulator.data", "data")
