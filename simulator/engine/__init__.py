"""Engine stage: model-file schema and loading, equations to IR, built-in functions, units, compiler and numpy backend, integrator, sectors, time step and its stability, time series, YAML, atomic files.
May import only simulator.errors: it knows nothing of Pingliang, bundled files, scenarios, charts or the command line."""
