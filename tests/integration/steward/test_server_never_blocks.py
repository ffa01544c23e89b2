"""The server never blocks: a timed-out request's work stops (its store query in the
database, its worker-pool job, its task's further queries), overload is refused at
once with 503 and Retry-After, and /healthz answers while heavy requests run.

A real embedded FalkorDB runs a test-only query that counts for many seconds; no
store is mocked and nothing here asserts a duration.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.responses import JSONResponse

from cpgraph import api
from cpgraph.api import GuardMiddleware, create_app
from cpgraph.config import Backend, Settings
from cpgraph.graphql.limits import ApiLimits
from cpgraph.graphql.metrics import ApiMetrics
from cpgraph.store import GraphStore
from cpgraph.store.base import QueryTimeoutError, query_deadline
from cpgraph.store.falkordb import FalkorDBStore
from cpgraph.work import OverloadedError, WorkPool, check_cancelled
from tests.queries import with_test_queries

HERE = Path(__file__).parent
FOREVER = 200_000  # 4e10 steps: the database counts for minutes


@pytest.fixture
async def slow_store(tmp_path: Path) -> AsyncIterator[GraphStore]:
    """An embedded FalkorDB whose registry also holds the test-only slow query."""
    settings = Settings(backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None)
    store = FalkorDBStore(settings, with_test_queries("falkordb", HERE / "cypher"))
    await store.start()
    try:
        await store.bootstrap()
        yield store
    finally:
        await store.close()


async def test_the_deadline_stops_the_query_in_the_database(slow_store: GraphStore) -> None:
    with query_deadline(0.3), pytest.raises(QueryTimeoutError, match="time limit"):
        # the database itself answers "timed out": it stopped counting
        await slow_store.query("test_slow_count", n=FOREVER)
    # a deadline already past sends nothing at all
    sent = slow_store.round_trips
    with query_deadline(-1.0), pytest.raises(QueryTimeoutError):
        await slow_store.query("test_slow_count", n=10)
    assert slow_store.round_trips == sent
    assert (await slow_store.query("test_slow_count", n=10))[0]["c"] == 15


class _Job:
    """CPU work that checks for cancellation between steps and counts its steps."""

    def __init__(self) -> None:
        self.steps = 0
        self.stopped = threading.Event()
        self.running = threading.Event()

    def __call__(self) -> int:
        try:
            while True:
                check_cancelled()
                self.steps += 1
                self.running.set()
                threading.Event().wait(0.005)
        finally:
            self.stopped.set()


async def test_a_timed_out_request_stops_its_pool_job_and_its_queries(
    slow_store: GraphStore,
) -> None:
    pool = WorkPool(workers=1, queue=4)
    app = create_app(
        Settings(data_dir=Path("unused")),
        store=slow_store,
        limits=ApiLimits(request_timeout_s=0.5),
        pool=pool,
    )
    job, queued = _Job(), _Job()
    issued: list[int] = []

    async def heavy() -> None:
        # a query after another, as a resolver walking a large graph would
        while True:
            issued.append(1)
            await slow_store.query("test_slow_count", n=FOREVER)

    async def slow_route() -> JSONResponse:
        await asyncio.gather(pool.run(job), pool.run(queued), heavy())
        return JSONResponse({})  # never reached

    app.add_api_route("/test-slow", slow_route)
    # routes added after create_app come after the web app's catch-all mount at `/`
    app.router.routes.insert(0, app.router.routes.pop())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        pending = asyncio.ensure_future(http.get("/test-slow"))
        await asyncio.to_thread(job.running.wait, 10)
        # the probe answers while the heavy request's job and query are running
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert not pending.done()
        r = await pending
    assert r.status_code == 504 and r.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    # the running job was told to stop, and stopped; the queued one never ran
    assert await asyncio.to_thread(job.stopped.wait, 10)
    steps, trips, queries = job.steps, slow_store.round_trips, len(issued)
    await asyncio.sleep(0.3)
    assert job.steps == steps and pool.cancelled == 2
    assert queued.steps == 0 and not queued.running.is_set() and pool.started == 1
    # the cancelled task sent no further query, and the one in flight was stopped by
    # the database at the request's deadline (the store answers at once now)
    assert slow_store.round_trips == trips and len(issued) == queries == 1
    assert (await slow_store.query("test_slow_count", n=10))[0]["c"] == 15
    pool.close()


async def test_overload_is_refused_at_once_with_retry_after(slow_store: GraphStore) -> None:
    pool = WorkPool(workers=1, queue=0)
    release = threading.Event()
    busy = asyncio.ensure_future(pool.run(release.wait, 10))
    await asyncio.sleep(0)
    with pytest.raises(OverloadedError) as info:
        await pool.run(sum, [1, 2])
    assert info.value.code == "OVERLOADED" and info.value.retry_after_s >= 1
    release.set()
    assert await busy is True
    pool.close()

    finish = asyncio.Event()

    async def held_app(scope: dict, receive: object, send: object) -> None:
        if scope["path"] == "/graphql":
            await finish.wait()
        await JSONResponse({"data": {}})(scope, receive, send)  # type: ignore[arg-type]

    guard = GuardMiddleware(held_app, timeout_s=30, metrics=ApiMetrics(), max_inflight=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=guard), base_url="http://t"
    ) as http:
        # a well-formed GraphQL request: the guard refuses malformed bodies before admission
        query = {"query": "{ me { name } }"}
        first = asyncio.ensure_future(http.post("/graphql", json=query))
        while guard.inflight < 1:
            await asyncio.sleep(0.01)
        refused = await http.post("/graphql", json=query)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
        assert (await http.get("/healthz")).status_code == 200  # probes are never refused
        finish.set()
        assert (await first).status_code == 200
        assert (await http.post("/graphql", json=query)).status_code == 200


async def test_cancellation_reaches_across_to_the_graphql_loop(
    slow_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `cpgraph serve` runs it: GraphQL on its own loop with its own database client."""
    # a test route admitted like /graphql (run on the GraphQL loop)
    for name in ("KNOWN_ROUTES", "ADMITTED_ROUTES"):
        monkeypatch.setattr(api, name, getattr(api, name) | {"/graphql-heavy"})
    LoopThread = api.LoopThread  # noqa: N806

    app = create_app(
        Settings(data_dir=Path("unused")), store=slow_store, limits=ApiLimits(request_timeout_s=0.5)
    )
    twin = slow_store.sibling()
    assert twin is not None
    thread = LoopThread()
    await thread.run(twin.start())
    app.state.graphql_store, app.state.graphql_thread = twin, thread
    loops: list[object] = []
    issued: list[int] = []

    async def heavy_graphql() -> JSONResponse:
        loops.append(asyncio.get_running_loop())
        while True:  # a query after another, as a resolver walking a large graph would
            issued.append(1)
            await twin.query("test_slow_count", n=FOREVER)

    app.add_api_route("/graphql-heavy", heavy_graphql)
    app.router.routes.insert(0, app.router.routes.pop())  # ahead of the web app's mount
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            pending = asyncio.ensure_future(http.get("/graphql-heavy"))
            while not issued and not pending.done():
                await asyncio.sleep(0.01)
            assert (await http.get("/healthz")).status_code == 200  # answered meanwhile
            r = await pending
        assert r.status_code == 504
        assert loops == [thread.loop]  # it ran on the GraphQL loop, not the server's
        trips = twin.round_trips
        await asyncio.sleep(0.3)
        assert twin.round_trips == trips and len(issued) == 1  # no further query
        # the twin answers at once: its query was stopped, not left running
        assert (await thread.run(twin.query("test_slow_count", n=10)))[0]["c"] == 15
    finally:
        await thread.run(twin.close())
        thread.stop()
