"""Scenario stage: scenario files (schema, `extends`, levers, uncertain ranges, targets) resolved against a model.
May import simulator.engine, simulator.bundled and simulator.errors; never interop, analysis, outputs, cli or api."""
