"""`urbsd explore`: its options, its one-line errors, loopback by default, and its web packages kept
off every other command's import path."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from simulator.cli import main
from simulator.explore.serve import bind, is_loopback, url_of

WEB = ("starlette", "uvicorn", "anyio", "httpx", "httpx2", "h11", "selenium", "simulator.explore")


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explore", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("SCENARIO", "--host", "--port", "--no-browser", "--lang", "127.0.0.1"):
        assert option in text


@pytest.mark.parametrize("argv, expected", [
    (["explore", "--port", "70000", "--no-browser"], "--port: must be 0-65535, not 70000"),
    (["explore", "--port", "-1", "--no-browser"], "--port: must be 0-65535"),
    (["explore", "missing.yaml", "--no-browser"], "missing.yaml: scenario: no such file"),
    (["explore", "--host", "no.such.host.invalid", "--port", "0", "--no-browser"], "--host: cannot resolve"),
])
def test_bad_options_are_one_line_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("urbsd: error: ") and expected in err


def test_lang_must_be_zh_or_en(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explore", "--lang", "fr"])
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_busy_port_is_one_line(capsys):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        assert main(["explore", "--port", str(port), "--no-browser"]) == 2
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--port: cannot listen on 127.0.0.1:{port}" in err and "(0: any free port)" in err


def test_missing_web_packages_say_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    assert main(["explore", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install" in err and "uvicorn" in err


def _serve_stub(calls):
    def serve(app, sock, *, open_browser, out=None):
        calls.append({"app": app, "sock": sock.getsockname(), "open_browser": open_browser})
        return 0
    return serve


def test_loopback_by_default_and_a_warning_for_another_host(monkeypatch, capsys):
    import simulator.explore.serve as serve_module
    from simulator.explore.session import Explorer

    calls: list[dict] = []
    monkeypatch.setattr(serve_module, "serve", _serve_stub(calls))
    monkeypatch.setattr(Explorer, "font", lambda self: b"")
    assert main(["explore", "--port", "0", "--no-browser"]) == 0
    assert calls[0]["sock"][0] == "127.0.0.1" and calls[0]["open_browser"] is False
    assert calls[0]["app"].allowed is not None and "127.0.0.1" in calls[0]["app"].allowed
    assert "warning" not in capsys.readouterr().err

    assert main(["explore", "--host", "0.0.0.0", "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert "urbsd: warning: listening on 0.0.0.0" in err and "no login" in err
    assert calls[1]["sock"][0] == "0.0.0.0" and calls[1]["open_browser"] is True
    assert calls[1]["app"].allowed is None  # any Host header, since the user asked for another address


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                            ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                            ("example.org", False), ("::", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_bind_and_url():
    sock = bind("127.0.0.1", 0)
    try:
        assert url_of(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        sock.close()


def test_urbsd_run_does_not_import_the_web_packages(tmp_path):
    """The explore command is registered in the dispatcher, but starlette, uvicorn and the explore
    stage are imported only when it runs: `urbsd run` (and `urbsd --help`) never load them."""
    code = ("import sys; from simulator.cli import main; rc = main(['run', '--out', sys.argv[1]]); "
            f"print(rc, sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r} or m.startswith('simulator.explore')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    assert out.splitlines()[-1] == "0 []"
    # the check can fail: the explore command itself does import them
    probe = ("import sys; import simulator.cli.explore as e; from simulator.explore import app; "
             "print('starlette' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip() == "True"
