"""The web app for investigators, data stewards and auditors, served at `/`.

The app is static (built from `web/` into `static/`, committed) and talks to the
public GraphQL API only, with the user's own token and purpose. Its pages carry a
strict Content-Security-Policy: scripts, styles and connections from this origin
only, no inline code, no framing. In development (`CPGRAPH_ENV=dev`) `GET /graphql`
serves GraphiQL, bundled with React from npm (no CDN), from `graphiql/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
GRAPHIQL_DIR = Path(__file__).parent / "graphiql"

# The app: everything from this origin, nothing inline, no framing.
APP_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# GraphiQL (development only) sets element styles the way React components do and
# embeds its fonts and icons as data: URLs.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    """Response headers for a page of the app (CSP and friends)."""
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]


class WithHeaders:
    """ASGI wrapper adding fixed headers to every HTTP response of `app`."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        """Wrap `app`."""
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.headers}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_web(app: FastAPI, *, dev: bool = False) -> None:
    """Serve the web app at `/` (after every API route) and, in dev, GraphiQL.

    Call it last when building the app: the mount at `/` answers every path no
    earlier route took, so `/graphql`, `/healthz`, `/readyz` and `/metrics` keep theirs.

    Args:
        app: the API app.
        dev: also serve the bundled GraphiQL page on `GET /graphql`.
    """
    if dev and (GRAPHIQL_DIR / "index.html").is_file():
        page = GRAPHIQL_DIR / "index.html"

        async def graphiql(_request: Any) -> FileResponse:
            return FileResponse(page, headers={"cache-control": "no-store"})

        route = Route("/graphql", graphiql, methods=["GET"])
        route.app = WithHeaders(route.app, security_headers(GRAPHIQL_CSP))
        # ahead of the GraphQL router, whose own GraphiQL page loads from a CDN
        app.router.routes.insert(0, route)
        app.mount(
            "/graphiql-assets",
            WithHeaders(StaticFiles(directory=GRAPHIQL_DIR), security_headers(GRAPHIQL_CSP)),
            name="graphiql-assets",
        )
    if (STATIC_DIR / "index.html").is_file():
        app.mount(
            "/",
            WithHeaders(StaticFiles(directory=STATIC_DIR, html=True), security_headers(APP_CSP)),
            name="web",
        )
