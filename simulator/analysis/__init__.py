"""Analysis stage: runs as tables and targets, compare, goal-seek, sweeps, calibration, validation, fit statistics, UN comparator.
May import interop, scenario, engine, bundled and errors; it returns plain data (text, dicts, dataclasses) and draws or writes nothing."""
