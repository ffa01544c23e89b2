"""The FastAPI app: `/graphql`, `/healthz`, `/readyz`, `/metrics`.

Every GraphQL request needs a bearer token (401 otherwise). The app owns its
graph store through the lifespan (start, bootstrap, close) unless a started
store is handed in (tests). `/healthz`, `/readyz` and `/metrics` carry no
person data and need no token, for probes and scrapers on the internal
network.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    MutableMapping,
    Sequence,
)
from contextlib import ExitStack, asynccontextmanager, suppress
from typing import Annotated, Any

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from strawberry.fastapi import GraphQLRouter

from cpgraph.config import Environment, Settings, load_settings
from cpgraph.errors import StoreError
from cpgraph.graphql.context import RequestContext
from cpgraph.graphql.limits import ApiLimits
from cpgraph.graphql.metrics import ApiMetrics
from cpgraph.graphql.schema import build_schema
from cpgraph.security.audit import AuditLog
from cpgraph.security.purpose import PURPOSE_HEADER
from cpgraph.security.refusals import (
    ANONYMOUS,
    NO_ROLE,
    RefusalLog,
    begin_request,
    end_request,
    fingerprint_of,
    http_code,
    token_fingerprint,
)
from cpgraph.security.users import identify
from cpgraph.store import GraphStore, create_store
from cpgraph.store.base import query_deadline
from cpgraph.store.embedded import STATE_RESTARTING
from cpgraph.work import DEFAULT_RETRY_AFTER_S, WorkPool, request_scope

log = logging.getLogger(__name__)

KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
# Routes that do real work: admitted up to a bound, refused beyond it (503).
ADMITTED_ROUTES = frozenset({"/graphql"})
DEFAULT_MAX_INFLIGHT = 64
DEFAULT_CPU_WORKERS = 2
DEFAULT_CPU_QUEUE = 32
# The store's own deadline trails the request's a little, so the request's timeout
# answers first (504) and the database still stops the query right after.
STORE_DEADLINE_GRACE_S = 0.05
SWITCH_INTERVAL_S = 0.0002

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpError(Exception):
    """An error answered before GraphQL runs (no or bad token, store down)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _graphql_error_body(code: str, message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


async def _send_json(
    send: Send, status: int, body_obj: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(body_obj).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per key (a bearer token's hash), in memory in this process.

    Each key may send `burst` requests at once and `rate_per_s` a second after that.
    At most `max_keys` buckets are kept; the least recently used go first (a bucket
    forgotten is a full one, so forgetting never refuses anyone).
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 10_000) -> None:
        """A limiter of `rate_per_s` (0: unlimited) with bursts of `burst`."""
        self.rate = rate_per_s
        self.burst = float(max(burst, 1))
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one request of `key`'s budget: 0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


def _token_key(scope: Scope) -> str | None:
    """The hash of the request's bearer token (the token itself is never kept)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            token = _bearer(value.decode("latin-1"))
            return hashlib.sha256(token.encode()).hexdigest() if token else None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value.decode("latin-1")
    return None


class BodyError(HttpError):
    """The request body is too large or not a GraphQL request."""


def _clean(value: str) -> bool:
    """No NUL and no unpaired surrogate (JSON decodes a lone `\\ud800` to one)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_graphql_body(body: bytes) -> None:
    """Refuse a body that is not a well-formed GraphQL-over-HTTP JSON request.

    Raises:
        BodyError: malformed JSON or UTF-8, not an object, `query` missing or not a
            string, `operationName` not a string, `variables` not an object, or a NUL or
            unpaired surrogate in the query or in any string of the variables.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BodyError(400, "BAD_USER_INPUT", "the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BodyError(400, "BAD_USER_INPUT", "the request body must be a JSON object")
    query = payload.get("query")
    if not isinstance(query, str):
        raise BodyError(400, "BAD_USER_INPUT", "query must be a string")
    operation = payload.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise BodyError(400, "BAD_USER_INPUT", "operationName must be a string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise BodyError(400, "BAD_USER_INPUT", "variables must be an object")
    if not _clean(query) or (operation is not None and not _clean(operation)):
        raise BodyError(400, "BAD_USER_INPUT", "the query contains a NUL or an unpaired surrogate")
    # iterative: a deeply nested value must not exhaust the stack
    stack: list[Any] = [variables] if variables else []
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            bad = not _clean(item)
        elif isinstance(item, dict):
            bad = not all(_clean(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            bad = False
            stack.extend(item)
        else:
            bad = False
        if bad:
            raise BodyError(
                400, "BAD_USER_INPUT", "a variable contains a NUL or an unpaired surrogate"
            )


class LoopThread:
    """An event loop in a thread of its own, where GraphQL requests run.

    The HTTP server's loop then only moves bytes: probes (`/healthz`, `/readyz`,
    `/metrics`) answer while GraphQL parses, resolves and serialises elsewhere.
    """

    def __init__(self, name: str = "cpgraph-graphql") -> None:
        """Start the thread and its loop."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run[T](self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the thread's loop and wait for it; cancelling the wait
        cancels it there too."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def stop(self) -> None:
        """Stop the loop and wait for the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _on_loop(thread: LoopThread | None) -> bool:
    try:
        return thread is not None and asyncio.get_running_loop() is thread.loop
    except RuntimeError:
        return False


class GuardMiddleware:
    """Pure ASGI middleware: rate, admission, body checks, a whole-request timeout, metrics.

    Each bearer token may send `limits.rate_limit_per_s` GraphQL requests a second
    (bursts of `limits.rate_limit_burst`); beyond, 429 with ``Retry-After``. A GraphQL
    POST body is read here in chunks, refused with 413 once it passes
    `limits.max_body_bytes` (never buffered whole), and with 400 ``BAD_USER_INPUT``
    when it is not a well-formed GraphQL JSON request (`check_graphql_body`).

    At most `max_inflight` GraphQL requests run at once; more are answered at once
    with 503 and ``Retry-After`` (never queued without bound). Each request's time
    limit is also the deadline of its store queries, so the database stops a
    timed-out request's query too; the cancelled task issues no further queries and
    its worker-pool jobs are dropped or told to stop.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout_s: float,
        metrics: ApiMetrics,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        limits: ApiLimits | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        """Wrap `app`; each refusal is counted in `refusals` for the audit chain."""
        self.app = app
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.max_inflight = max_inflight
        self.inflight = 0
        self.limits = limits or ApiLimits()
        self.rate = RateLimiter(self.limits.rate_limit_per_s, self.limits.rate_limit_burst)
        self.refusals = refusals

    def _refused(self, scope: Scope, key: str | None, code: str) -> None:
        """Count a refusal answered here: who is the token's fingerprint (the user is
        not looked up: a flood must cost no store round trip), what the route."""
        if self.refusals is not None:
            self.refusals.note(
                who=token_fingerprint(key) if key else ANONYMOUS,
                role=NO_ROLE,
                code=code,
                what=f"http:{scope.get('method', '')} {scope.get('path', '')}",
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope.get("path", "")
        route = route if route in KNOWN_ROUTES else "other"
        started = False
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, int(message["status"])
            await send(message)

        t0 = time.perf_counter()
        admitted = route in ADMITTED_ROUTES
        key = _token_key(scope) if admitted else None
        wait = self.rate.take(key) if key is not None else 0.0
        if wait > 0:
            # before admission: a throttled token takes no slot from anyone else
            log.warning("request refused: token over its rate limit")
            self._refused(scope, key, "RATE_LIMITED")
            await _send_json(
                send,
                429,
                _graphql_error_body(
                    "RATE_LIMITED", "too many requests for this token; retry shortly"
                ),
                [(b"retry-after", str(max(1, math.ceil(wait))).encode())],
            )
            self.metrics.requests.labels(route=route, status="429").inc()
            return
        if admitted and self.inflight >= self.max_inflight:
            status = 503
            log.warning("request refused: %d requests in flight", self.inflight)
            self._refused(scope, key, "OVERLOADED")
            await _send_json(
                send,
                503,
                _graphql_error_body("OVERLOADED", "the server is busy; retry shortly"),
                [(b"retry-after", str(DEFAULT_RETRY_AFTER_S).encode())],
            )
            self.metrics.requests.labels(route=route, status="503").inc()
            return
        if admitted:
            self.inflight += 1
        thread: LoopThread | None = None
        if admitted and "app" in scope:
            thread = getattr(scope["app"].state, "graphql_thread", None)
        # every error answer is audited; those not counted on the way (strawberry's own
        # 400s for an unsupported content type or method, say) are counted at the end
        mark, mark_token = begin_request()
        stack = ExitStack()
        try:
            async with asyncio.timeout(self.timeout_s) as cm:
                # the request's pool jobs are told to stop in the very loop step its
                # time runs out, before its tasks unwind (a queued job never starts)
                cancelled = stack.enter_context(request_scope())
                stop_jobs = asyncio.get_running_loop().call_at(cm.when(), cancelled.set)
                stack.callback(stop_jobs.cancel)
                if admitted and scope.get("method") == "POST":
                    try:
                        receive = await self._checked_body(scope, receive)
                    except BodyError as exc:
                        status = exc.status
                        log.info("request refused: status=%d code=%s", exc.status, exc.code)
                        self._refused(scope, key, exc.code)
                        await _send_json(
                            send, exc.status, _graphql_error_body(exc.code, exc.message)
                        )
                        return
                if thread is None:
                    with query_deadline(self.timeout_s + STORE_DEADLINE_GRACE_S):
                        await self.app(scope, receive, send_wrapper)
                else:
                    await thread.run(self._elsewhere(scope, receive, send_wrapper))
        except TimeoutError:
            if not cm.expired():
                raise
            self.metrics.timeouts.inc()
            log.warning("request timed out after %.1fs route=%s", self.timeout_s, route)
            if admitted:
                self._refused(scope, key, "TIMEOUT")
            if not started:
                status = 504
                await _send_json(
                    send,
                    504,
                    _graphql_error_body("TIMEOUT", "the request took too long and was stopped"),
                )
        finally:
            stack.close()
            end_request(mark_token)
            if admitted and status >= 400 and not mark.noted:
                self._refused(scope, key, http_code(status))
            if admitted:
                self.inflight -= 1
            self.metrics.requests.labels(route=route, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - t0)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read the body (at most the cap), check it, and hand it on as it came.

        Raises:
            BodyError: 413 over the cap, 400 when not a GraphQL JSON request.
        """
        cap = self.limits.max_body_bytes
        too_large = BodyError(
            413, "PAYLOAD_TOO_LARGE", f"the request body is over the limit of {cap} bytes"
        )
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > cap:
            raise too_large  # refused unread
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise too_large
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        content_type = (_header(scope, b"content-type") or "").lower()
        if "application/json" in content_type:
            check_graphql_body(body)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _elsewhere(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """The request, to run on the GraphQL loop; receiving and sending stay on the
        server's (call this on the server's loop)."""
        server = asyncio.get_running_loop()

        async def receive_there() -> Message:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), server))

        async def send_there(message: Message) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(message), server))

        async def job() -> None:
            # the deadline is set on the GraphQL loop, where the queries are sent
            with query_deadline(self.timeout_s + STORE_DEADLINE_GRACE_S):
                await self.app(scope, receive_there, send_there)

        return job()


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def create_app(
    settings: Settings | None = None,
    *,
    store: GraphStore | None = None,
    limits: ApiLimits | None = None,
    pool: WorkPool | None = None,
    max_inflight: int = DEFAULT_MAX_INFLIGHT,
    offload: bool = True,
) -> FastAPI:
    """Build the API app.

    Args:
        settings: cpgraph settings (default: read from the environment).
        store: an already started store to use (the caller closes it). When
            None, the app creates, starts, bootstraps and closes its own in
            its lifespan.
        limits: API limits (default: from settings, else `ApiLimits()`).
        pool: the worker pool for resolvers' CPU work (default: a new bounded one,
            closed with the app).
        max_inflight: GraphQL requests running at once before 503s.
        offload: when the app owns its store, run GraphQL on an event loop of its
            own (a thread with its own database client), so the server's loop only
            moves bytes and probes always answer. A store handed in is used on the
            caller's loop, as it is.
    """
    settings = settings or Settings()
    dev = settings.env == Environment.DEV
    limits = limits or ApiLimits.from_settings(settings)
    metrics = ApiMetrics()
    refusals = RefusalLog(max_keys=limits.refusal_audit_max_keys)
    own_pool = pool is None
    work_pool = pool or WorkPool(DEFAULT_CPU_WORKERS, DEFAULT_CPU_QUEUE)

    @asynccontextmanager
    async def refusal_flusher(app: FastAPI) -> AsyncIterator[None]:
        # refused requests are counted in memory and written in aggregate every window,
        # and once more at shutdown, before the store closes (cpgraph.security.refusals)
        task = asyncio.create_task(refusals.run(app.state.audit, limits.refusal_audit_window_s))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            try:
                await refusals.flush(app.state.audit)
            except Exception as exc:  # noqa: BLE001 — shutdown goes on; nothing personal logged
                log.error("refusal flush at shutdown failed: %s", type(exc).__name__)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if store is not None:
                async with refusal_flusher(app):
                    yield
                return
            own = create_store(settings)
            await own.start()
            thread: LoopThread | None = None
            twin: GraphStore | None = None
            try:
                await own.bootstrap()
                app.state.store = own
                app.state.audit = AuditLog(own)
                twin = own.sibling() if offload else None
                if twin is not None:
                    # GraphQL runs on its own loop, with its own client of the database;
                    # threads hand the interpreter over every 1 ms (not 5), so the
                    # server's loop gets its turn quickly while GraphQL computes
                    sys.setswitchinterval(SWITCH_INTERVAL_S)
                    # what start-up built lives as long as the server: kept out of the
                    # collector's full passes, which otherwise stop both loops for
                    # ~100 ms at a time under load
                    gc.collect()
                    gc.freeze()
                    thread = LoopThread()
                    await thread.run(twin.start())
                    app.state.graphql_store = twin
                    app.state.graphql_audit = AuditLog(twin)
                    app.state.graphql_thread = thread
                async with refusal_flusher(app):
                    yield
            finally:
                if thread is not None:
                    app.state.graphql_thread = None
                    if twin is not None:
                        await thread.run(twin.close())
                    thread.stop()
                await own.close()
        finally:
            if own_pool:
                work_pool.close()

    app = FastAPI(
        title="cpgraph",
        lifespan=lifespan,
        docs_url="/docs" if dev else None,
        redoc_url=None,
        openapi_url="/openapi.json" if dev else None,
    )
    if store is not None:
        app.state.store = store
        app.state.audit = AuditLog(store)

    @app.exception_handler(HttpError)
    async def _http_error(request: Request, exc: HttpError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            _graphql_error_body(exc.code, exc.message), status_code=exc.status, headers=headers
        )

    async def get_context(request: Request) -> RequestContext:
        state = request.app.state
        elsewhere = _on_loop(getattr(state, "graphql_thread", None))
        graph_store: GraphStore = state.graphql_store if elsewhere else state.store
        common = {
            "store": graph_store,
            "purpose_header": request.headers.get(PURPOSE_HEADER),
            "audit": state.graphql_audit if elsewhere else state.audit,
            "limits": limits,
            "metrics": metrics,
            "pool": work_pool,
            "refusals": refusals,
        }
        if dev and request.method == "GET":
            # The GraphiQL page itself; queries it sends carry their own token.
            return RequestContext(principal=None, **common)
        token = _bearer(request.headers.get("authorization"))
        # who, for a refusal: the user when the token is theirs (an expired one too),
        # else the token's fingerprint (never the token), else anonymous
        what = f"http:{request.method} {request.url.path}"
        try:
            principal, owner = await identify(graph_store, token)
        except StoreError:
            who = fingerprint_of(token) if token else ANONYMOUS
            refusals.note(who=who, role=NO_ROLE, code="UNAVAILABLE", what=what)
            raise HttpError(503, "UNAVAILABLE", "the graph store is unavailable") from None
        if principal is None:
            metrics.auth_failures.inc()
            who = owner or (fingerprint_of(token) if token else ANONYMOUS)
            refusals.note(who=who, role=NO_ROLE, code="UNAUTHENTICATED", what=what)
            raise HttpError(401, "UNAUTHENTICATED", "a valid bearer token is required")
        return RequestContext(principal=principal, **common)

    router: GraphQLRouter[RequestContext, None] = GraphQLRouter(
        build_schema(limits),
        context_getter=get_context,
        graphql_ide="graphiql" if dev else None,
        allow_queries_via_get=False,
    )
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        # Alive means able to serve: with its store down the API answers 503 here
        # (saying whether the store's supervisor is restarting it), never a 200
        # over a server that fails every query.
        graph_store: GraphStore | None = getattr(request.app.state, "store", None)
        health = await graph_store.liveness() if graph_store is not None else None
        if health is not None and health.ok:
            return JSONResponse({"status": "ok"})
        restarting = health is not None and health.detail == STATE_RESTARTING
        status = "store_restarting" if restarting else "store_down"
        return JSONResponse({"status": status}, status_code=503)

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        graph_store: GraphStore | None = getattr(request.app.state, "store", None)
        health = await graph_store.health() if graph_store is not None else None
        if health is None or not health.ok:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready", "backend": health.backend})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.state.pool = work_pool
    app.state.refusals = refusals
    app.add_middleware(
        GuardMiddleware,
        timeout_s=limits.request_timeout_s,
        metrics=metrics,
        max_inflight=max_inflight,
        limits=limits,
        refusals=refusals,
    )
    # the web app at `/` (and GraphiQL in dev): mounted last, after every API route
    from cpgraph.web import mount_web  # noqa: PLC0415

    mount_web(app, dev=dev)
    return app


def serve_command(
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (default: CPGRAPH_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default: CPGRAPH_PORT).")
    ] = None,
    *,
    settings: Settings | None = None,
) -> None:
    """Run the API with uvicorn on settings.host/port (CLI: `cpgraph serve`).

    Args:
        host: bind address (default: settings).
        port: port (default: settings).
        settings: settings to serve with (default: read from the environment).
    """
    import uvicorn  # noqa: PLC0415 — only the server needs it

    settings = settings or load_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )
