"""Explore stage: `urbsd explore`, the model in a browser (the Explorer, a Starlette app, the page's static files).
May import outputs, analysis, interop, scenario, engine, bundled and errors; only the cli imports it, and only `app`/`serve` import the web packages."""
