"""`urbsd docs`: the model documentation (docs/model.md) from the model file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `docs` subcommand's options."""
    docs = sub.add_parser(
        "docs",
        help="write the model documentation (docs/model.md) from the model file",
        description="Generate the Markdown documentation of a model file: header with its sha256, "
        "stock-and-flow diagram (Mermaid), feedback loops, and every element with its unit, "
        "equation, source and doc. Written atomically.",
    )
    docs.add_argument("--model", default=None, metavar="FILE",
                      help="model YAML file (default: the bundled Pingliang model)")
    docs.add_argument("-o", "--output", default="docs/model.md", metavar="FILE",
                      help="Markdown file to write (default: docs/model.md)")


def handle(args: argparse.Namespace) -> int:
    from simulator.bundled import bundled_model_path
    from simulator.engine.load import load_model
    from simulator.outputs.modeldoc import model_markdown
    from simulator.outputs.writers import atomic_write_text

    out = Path(args.output)
    if out.is_dir():
        raise InputError(args.output, "-o", "is a folder; give a file name")
    if args.model is not None and not Path(args.model).is_file():
        reason = "no such file" if not Path(args.model).exists() else "not a file"
        raise InputError(args.model, "--model", reason)
    spec = load_model(bundled_model_path() if args.model is None else args.model)
    path = atomic_write_text(out, model_markdown(spec))
    print(f"wrote {path} (model {spec.name} sha256 {spec.sha256[:12]}, {len(spec.all_names())} elements, "
          f"{len(spec.loops)} feedback loop(s))")
    return 0
