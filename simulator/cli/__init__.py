"""Command-line stage: `urbsd` (`entry` runs `main`), a dispatcher, one module per command (`add_parser`, `handle`).
May import every stage below (outputs, analysis, interop, scenario, engine, bundled, errors); nothing imports it."""

from __future__ import annotations

import sys

from simulator.bundled import __version__
from simulator.cli import calibrate, check, compare, docs, explore, export, goal_seek, report, run, sweep, validate
from simulator.cli.common import PROG, Parser
from simulator.errors import InputError, StepTooLong

#: every command, in the order `urbsd --help` lists them: name -> module with add_parser(sub)
#: and handle(args). A new command is a new module here and one entry below.
COMMANDS = {
    "run": run,
    "check": check,
    "compare": compare,
    "goal-seek": goal_seek,
    "sweep": sweep,
    "calibrate": calibrate,
    "validate": validate,
    "export": export,
    "report": report,
    "explore": explore,
    "docs": docs,
}


def entry() -> None:
    """The `urbsd` program (and `python -m simulator.cli`): `main()` on the command line, then exit
    with its status. Before the interpreter shuts down, every object is put out of the garbage
    collector's reach (`gc.freeze`): its last collection walked the whole heap of a process that
    is ending, with every file already written and closed (a warm `urbsd run` ended 47 ms after
    its last statement, 12 ms with the freeze). `main(argv)` is what tests call, in process."""
    import gc

    status = main()
    gc.freeze()
    sys.exit(status)


def build_parser() -> Parser:
    """The `urbsd` parser with every command's subparser."""
    p = Parser(
        prog=PROG,
        description="System-dynamics scenarios for the urbanization of Pingliang City "
        "(平凉市), 2020-2035.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


class _Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so staging folders and worker pools are cleaned up."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _step_error(args: object, exc: StepTooLong) -> InputError:
    """Where a time step too long for a delay came from: a model is stable at its own step within
    its constants' bounds (checked when it compiles), so --dt or --method, else a scenario's value
    of a constant without bounds."""
    if getattr(args, "dt", None) is not None:
        return InputError("command line", "--dt", str(exc))
    if hasattr(args, "dt") and getattr(args, "method", None) is not None:
        return InputError("command line", "--method", str(exc))
    scenario = getattr(args, "scenario", None)
    return InputError(scenario if isinstance(scenario, str) else "scenario", "set/uncertain", str(exc))


def main(argv: list[str] | None = None) -> int:
    """Run `urbsd` with `argv` (None: the command line); return the exit status.

    Bad input (an `InputError` from the scenario or model loaders, or a bad option) is
    printed as ONE line `urbsd: error: <file>: <field>: <reason>` on stderr, exit status 2,
    and nothing is written: every scenario is loaded and compiled, and every run finished,
    before the first file is written. Heavy libraries stay off the `run` path: no pandas,
    and matplotlib only when the chart is drawn.
    """
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return COMMANDS[args.command].handle(args)
    except InputError as exc:
        msg = " ".join(str(exc).split())  # guarantee one line
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except StepTooLong as exc:
        print(f"{PROG}: error: {_step_error(args, exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `urbsd run | head`: the files are written already
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # e.g. the output folder is not writable
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
