"""Engine stage: model-file schema and loading, equations, units, compiler, integrator, time series, YAML, atomic files.
May import only simulator.errors: it knows nothing of Pingliang, bundled files, scenarios, charts or the command line."""
