"""`urbsd explore`: the model in a browser, for workshops (sliders, targets, pin, compare, save)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from simulator.cli.common import lang_option, load_one
from simulator.errors import InputError

#: the port tried when none is given
DEFAULT_PORT = 8765
#: what to install when the web packages are missing
INSTALL = "pip install 'starlette>=1.10,<2' 'uvicorn>=0.30,<1'"


def add_parser(sub: Any) -> None:
    """The `explore` subcommand's options."""
    p = sub.add_parser(
        "explore",
        help="the model in a browser: sliders for the levers, targets, pin, compare, save",
        description="Serve a local web page on which every lever of SCENARIO (default: the bundled "
        "baseline) is a slider; moving one re-runs the model and redraws the resident and hukou "
        "urbanization paths, the targets and their gaps, and the counties. Settings can be pinned and "
        "compared, and saved as a scenario file that `urbsd run` reproduces. Bound to 127.0.0.1 "
        "(this computer only) unless --host says otherwise.",
    )
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", default=None,
                   help="scenario YAML file (default: the bundled baseline)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; another address "
                   "lets anyone who can reach it use the page, without a login)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a web browser")
    lang_option(p, "the page (it can be switched on the page)")


def handle(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise InputError("command line", "--port", f"must be 0-65535, not {args.port}")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError("command line", "explore", f"needs the web packages ({exc.name} is missing): {INSTALL}") from None
    from simulator.explore.app import LOOPBACK_NAMES, create_app
    from simulator.explore.fontcache import cache_folder
    from simulator.explore.serve import bind, is_loopback, serve
    from simulator.explore.session import Explorer

    scenario, model = load_one(args.scenario)
    loopback = is_loopback(args.host)
    sock = bind(args.host, args.port)
    try:
        if not loopback:
            print(f"urbsd: warning: listening on {args.host}: anyone who can reach this computer on port "
                  f"{sock.getsockname()[1]} can use the page (there is no login)", file=sys.stderr, flush=True)
        explorer = Explorer(scenario, model, lang=args.lang, font_cache=cache_folder())
        explorer.font()  # the font subset is made once, before the first page asks for it
        explorer.warm_up()
        app = create_app(explorer, allowed_hosts=LOOPBACK_NAMES if loopback else None)
        return serve(app, sock, open_browser=not args.no_browser)
    finally:
        sock.close()
