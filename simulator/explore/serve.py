"""Serving the app: bind the address first (so a busy port is one clear error), then uvicorn.

The socket is bound and listening before the browser is opened, so the page's first
request waits in the queue instead of failing; uvicorn then serves on that socket until
Ctrl+C. Loopback (127.0.0.1) unless the user gave another --host.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any, TextIO

from simulator.errors import InputError


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or 'localhost'."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port), or an InputError."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError("command line", "--host", f"cannot resolve {host!r} ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "; choose another --port (0: any free port)" if port else ""
        raise InputError("command line", "--port" if port else "--host",
                         f"cannot listen on {host}:{port} ({exc.strerror or exc}){hint}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """http://HOST:PORT/ of a bound socket (IPv6 in brackets)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(app: Any, sock: socket.socket, *, open_browser: bool, out: TextIO = sys.stdout) -> int:
    """Serve `app` on `sock` until interrupted; open the page in the browser first if asked."""
    import uvicorn

    url = url_of(sock)
    print(f"urbsd explore: serving on {url} (Ctrl+C to stop)", file=out, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
