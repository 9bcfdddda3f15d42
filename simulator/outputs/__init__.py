"""Outputs stage: files, labels, charts, Excel workbooks, the report and the model documentation.
May import analysis, interop, scenario, engine, bundled and errors; never cli or api."""
