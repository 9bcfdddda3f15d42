"""urbsd: a system-dynamics scenario simulator for the urbanization of Pingliang City.

The stages, lowest first (docs/architecture.md): `engine` (model files, compiler,
integrator), `scenario`, `interop` (Vensim/XMILE export), `analysis`, `outputs` (files,
charts, reports) and `cli`; `api` is the notebook API. A stage imports only stages below it.
"""

from simulator.bundled import __version__ as __version__

#: the notebook API (simulator/api.py), imported on first use so `import simulator` stays light
_API = ("load", "run", "compare", "goal_seek")


def __getattr__(name: str):
    """Lazy re-export of simulator.api's functions: `simulator.run(...)` etc."""
    if name in _API:
        from simulator import api

        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
