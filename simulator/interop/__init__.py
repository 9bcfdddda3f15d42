"""Interop stage: the model with a scenario's levers as text other tools read (Vensim .mdl, XMILE).
May import simulator.scenario, simulator.engine, simulator.bundled and simulator.errors; it returns text, the cli writes it."""
