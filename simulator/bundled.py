"""What ships with urbsd: its version, and where its model, scenario and data files live.

pyproject.toml installs the repo's models/, scenarios/ and data/ as the data packages
`simulator.models`, `simulator.scenarios` and `simulator.data`; run from a checkout that is not installed
(or an editable install), they are the folders next to `simulator/`.
"""

from __future__ import annotations

from pathlib import Path

#: the package version (also `simulator.__version__`); kept here, below every stage, so
#: that a module stamping provenance on its output does not import the package root
#: (which imports the notebook API lazily, a cycle)
__version__ = "0.1.0"

_CHECKOUT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, folder: str) -> Path:
    import importlib.resources  # here, so `import simulator` stays light

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


def bundled_model_path(name: str = "pingliang") -> Path:
    """Path of a model file shipped with the package (models/<name>.yaml)."""
    return models_dir() / f"{name}.yaml"
