"""urbsd: a system-dynamics scenario simulator for the urbanization of Pingliang City."""

__version__ = "0.1.0"

#: the notebook API (simulator/api.py), imported on first use so `import simulator` stays light;
#: `compare` is reached as `simulator.api.compare`, since `simulator.compare` is the module
_API = ("load", "run", "goal_seek")


def __getattr__(name: str):
    """Lazy re-export of simulator.api's functions: `simulator.run(...)` etc."""
    if name in _API:
        from simulator import api

        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
