"""The web app of `urbsd explore` (Starlette): the page, its files, and four JSON endpoints.

    GET  /                 the page (static/index.html)
    GET  /static/NAME      a file of static/ by its exact name (a fixed list read at start:
                           no path from the client reaches the file system)
    GET  /font/cjk.woff2   the page's CJK font subset (made from the bundled Noto Sans CJK SC)
    GET  /api/meta         levers, labels, targets, history points (Explorer.meta)
    POST /api/run          {"set": {...}} -> paths, county paths, targets
    POST /api/band         {"set": {...}} -> the Monte Carlo band and target probabilities
    POST /api/save         {"set": {...}, "name": ..., "label": ...} -> the scenario YAML
    POST /api/font         {"text": ...} -> a font subset of typed text (pin names), WOFF2

Every request is treated as hostile: POST bodies must be JSON (`Content-Type:
application/json`, at most MAX_BODY bytes, no NaN/Infinity), from the page's own origin, to
a Host the server was started for (DNS-rebinding guard when bound to loopback). Bad input
is HTTP 400 with `{"error": "<one line>"}`; an unexpected error is HTTP 500 with one line
naming its type (the traceback goes to the terminal, never to the page). Every response
carries a Content-Security-Policy that allows scripts, styles, fonts and requests from
this origin only (no inline script, no remote origin). Starlette is imported here and only
here, so no other command pays for it.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.errors import InputError
from simulator.explore.session import Explorer

STATIC = Path(__file__).resolve().parent / "static"
#: the largest POST body accepted (a full `set` of every lever is well under 4 kB)
MAX_BODY = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".md": "text/plain; charset=utf-8", ".woff2": "font/woff2"}
#: Host names the page answers to when bound to loopback
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def static_files(folder: Path = STATIC) -> dict[str, tuple[bytes, str]]:
    """Every file of static/ (and static/vendor/) by its URL name -> (bytes, content type)."""
    files: dict[str, tuple[bytes, str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in TYPES:
            files[path.relative_to(folder).as_posix()] = (path.read_bytes(), TYPES[path.suffix])
    return files


def host_name(header: str) -> str:
    """The host of a Host header without its port ('[::1]:8765' -> '::1')."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """ASGI middleware: security headers on every response; Host and Origin checks."""

    def __init__(self, app: Any, allowed_hosts: Iterable[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        problem = None
        if self.allowed is not None and host_name(host) not in self.allowed:
            problem = "unknown host: open the address urbsd explore printed"
        elif scope.get("method") == "POST" and "origin" in headers and headers["origin"] != f"http://{host}":
            problem = "cross-origin request refused"
        if problem is not None:
            await error(403, problem)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def json_response(data: Any, status: int = 200, timing: str | None = None) -> Response:
    """Strict JSON (no NaN), never cached."""
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    headers = {"cache-control": "no-store"}
    if timing:
        headers["server-timing"] = timing
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error(status: int, message: str) -> Response:
    """`{"error": one line}` with `status`."""
    return json_response({"error": " ".join(str(message).split())[:500]}, status)


def _no_constants(token: str) -> Any:
    raise ValueError(f"{token} is not a number JSON allows")


async def read_json(request: Request) -> Any:
    """The request's JSON body: application/json, at most MAX_BODY bytes, strict numbers."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise InputError("explore request", "content-type", "expected application/json")
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise InputError("explore request", "body", f"larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError("explore request", "body", f"not valid JSON ({exc})") from None


def endpoint(explorer: Explorer, method: Callable[[Any], dict[str, Any]]) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint calling `method(body)` in a worker thread; errors as one line."""
    from starlette.concurrency import run_in_threadpool

    async def handle(request: Request) -> Response:
        t0 = time.perf_counter()
        try:
            body = await read_json(request)
            out = await run_in_threadpool(method, body)
        except InputError as exc:
            return error(400, str(exc))
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the terminal the traceback
            traceback.print_exc(file=sys.stderr)
            return error(500, f"internal error ({type(exc).__name__}); the terminal running urbsd explore has details")
        total = (time.perf_counter() - t0) * 1000.0
        model = out.get("model_ms")
        timing = (f"model;dur={model:.2f}, " if isinstance(model, float) else "") + f"app;dur={total:.2f}"
        return json_response(out, timing=timing)

    return handle


def create_app(explorer: Explorer, *, allowed_hosts: Iterable[str] | None = LOOPBACK_NAMES) -> Any:
    """The ASGI app for `explorer`. `allowed_hosts=None` accepts any Host (a non-loopback --host)."""
    files = static_files()
    page, _ = files["index.html"]

    async def index(request: Request) -> Response:
        return Response(page, media_type=TYPES[".html"], headers={"cache-control": "no-cache"})

    async def static(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        if found is None:
            return error(404, "no such file")
        data, kind = found
        return Response(data, media_type=kind, headers={"cache-control": "no-cache"})

    async def font(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        data = await run_in_threadpool(explorer.font)
        return Response(data, media_type=TYPES[".woff2"], headers={"cache-control": "no-cache"})

    async def meta(request: Request) -> Response:
        return json_response(explorer.meta())

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, "no such page")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, "method not allowed")

    async def extra_font(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        try:
            data = await run_in_threadpool(explorer.extra_font, await read_json(request))
        except InputError as exc:
            return error(400, str(exc))
        return Response(data, media_type=TYPES[".woff2"], headers={"cache-control": "no-store"})

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/static/{name:path}", static, methods=["GET"]),
        Route("/font/cjk.woff2", font, methods=["GET"]),
        Route("/api/meta", meta, methods=["GET"]),
        Route("/api/run", endpoint(explorer, explorer.run), methods=["POST"]),
        Route("/api/band", endpoint(explorer, explorer.band), methods=["POST"]),
        Route("/api/save", endpoint(explorer, explorer.save), methods=["POST"]),
        Route("/api/font", extra_font, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return Guard(app, allowed_hosts)
