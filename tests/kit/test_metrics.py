"""kit.metrics: requests counted by route template, `/metrics` where it belongs, one endpoint per process,
and the gauges sampled at scrape time (outbox backlog, consumer lag)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from kit import metrics
from kit.bus import Event, Retry
from kit.bus.memory import MemoryBus
from kit.bus.sqlite import SqliteBus
from kit.db import open_engine
from kit.outbox import OutboxMessage, OutboxRelay, record_event
from kit.settings import Settings
from kit.web import create_service
from tests.support import asgi_client, free_port, sample


def _app(settings: Settings, *, edge: bool = False) -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @router.get("/{thing_id}")  # as the orders service's: `/metrics` must not be one
    async def top(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return create_service(settings.for_service("carts"), title="test", routers=[router], edge=edge)


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


class TestRequests:
    async def test_a_request_is_counted_and_timed_under_its_route_template(self, settings: Settings) -> None:
        async with asgi_client(_app(settings)) as client:
            labels = {"service": "carts", "method": "GET", "route": "/things/{thing_id}"}
            before = sample(await _scrape(client), "commerce_http_requests_total", **labels, status="200")
            answer = await client.get("/things/t-1")
            await client.get("/things/t-2")
            text = await _scrape(client)
        assert answer.headers[metrics.ROUTE_HEADER] == "/things/{thing_id}"
        assert sample(text, "commerce_http_requests_total", **labels, status="200") == before + 2
        assert sample(text, "commerce_http_request_duration_seconds_count", **labels) >= 2
        assert "/things/t-1" not in text

    async def test_errors_and_unknown_paths_are_counted_without_raw_paths(self, settings: Settings) -> None:
        async with asgi_client(_app(settings)) as client:
            await client.get("/boom")
            await client.get("/no/such/path-123")
            text = await _scrape(client)
        assert sample(text, "commerce_http_requests_total", service="carts", route="/boom", status="500") >= 1
        unmatched = {"service": "carts", "route": metrics.UNMATCHED, "status": "404"}
        assert sample(text, "commerce_http_requests_total", method="GET", **unmatched) >= 1
        assert "path-123" not in text

    async def test_the_edge_serves_no_metrics_and_names_no_route(self, settings: Settings) -> None:
        async with asgi_client(_app(settings, edge=True)) as client:
            answer = await client.get("/things/t-1")
            assert "# TYPE" not in (await client.get("/metrics")).text  # `/{thing_id}` answers it
        assert metrics.ROUTE_HEADER not in answer.headers

    async def test_metrics_off_counts_nothing_and_serves_nothing(self, settings: Settings) -> None:
        off = settings.model_copy(update={"metrics_enabled": False})
        async with asgi_client(_app(off)) as client:
            answer = await client.get("/things/t-1")
            assert "# TYPE" not in (await client.get("/metrics")).text  # `/{thing_id}` answers it
        assert metrics.ROUTE_HEADER not in answer.headers


class TestEndpoint:
    async def test_users_of_one_port_share_one_endpoint_which_stops_with_the_last(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        async with httpx.AsyncClient() as http:
            async with metrics.serving("127.0.0.1", port):
                async with metrics.serving("127.0.0.1", port):  # a second worker of the same process
                    assert "commerce_http_requests_total" in (await http.get(url)).text
                assert (await http.get(url)).status_code == 200
                assert (await http.get(f"http://127.0.0.1:{port}/other")).status_code == 404
            with pytest.raises(httpx.ConnectError):
                await http.get(url)

    async def test_a_port_in_use_is_an_error(self) -> None:
        server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(RuntimeError, match="cannot listen"):
                async with metrics.serving("127.0.0.1", port):
                    pass

    async def test_no_port_serves_nothing(self) -> None:
        async with metrics.serving("127.0.0.1", None):
            assert not metrics._endpoints


class TestScrapeTimeGauges:
    async def test_a_sample_runs_at_most_once_per_its_interval_and_only_while_registered(self) -> None:
        runs: list[int] = []

        async def sample_it() -> None:
            runs.append(1)

        with metrics.refreshing(sample_it, every=3600):
            await metrics.exposition()
            await metrics.exposition()
        await metrics.exposition()
        assert len(runs) == 1

    async def test_a_failing_sample_does_not_fail_the_scrape(self) -> None:
        async def broken() -> None:
            raise RuntimeError("database down")

        with metrics.refreshing(broken):
            assert b"commerce_http_requests_total" in await metrics.exposition()

    async def test_the_outbox_backlog_counts_undelivered_rows_and_the_oldest_ones_age(
        self, tmp_path: Path
    ) -> None:
        engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
        async with engine.begin() as connection:
            await connection.run_sync(OutboxMessage.metadata.create_all)
        relay = OutboxRelay(engine, MemoryBus(), name="backlog-test")
        try:
            await relay.sample_backlog()
            text = (await metrics.exposition()).decode()
            assert sample(text, "commerce_outbox_backlog", service="backlog-test") == 0
            async with async_sessionmaker(engine)() as session:
                for n in range(3):
                    event = Event(type="T", payload={}, source_service="s", topic="t", key=str(n))
                    record_event(session, event)
                await session.commit()
            await asyncio.sleep(0.05)
            await relay.sample_backlog()
            text = (await metrics.exposition()).decode()
        finally:
            await engine.dispose()
        assert sample(text, "commerce_outbox_backlog", service="backlog-test") == 3
        assert sample(text, "commerce_outbox_parked", service="backlog-test") == 0
        assert sample(text, "commerce_outbox_oldest_age_seconds", service="backlog-test") > 0


class TestConsumerLag:
    @pytest.mark.parametrize("adapter", ["memory", "sqlite"])
    async def test_lag_is_what_a_group_has_not_committed_and_dead_letters_are_counted(
        self, adapter: str, tmp_path: Path
    ) -> None:
        group, topic = f"lag-{adapter}", f"topic-{adapter}"
        once = Retry(attempts=1)
        bus: MemoryBus | SqliteBus = (
            MemoryBus(f"memory://{adapter}-lag", retry=once)
            if adapter == "memory"
            else SqliteBus(f"sqlite:///{tmp_path}/bus.db", retry=once)
        )
        stuck = asyncio.Event()

        async def handler(event: Event) -> None:
            if event.payload["n"] == 0:
                raise RuntimeError("poison")  # parked after its tries
            await stuck.wait()  # every later event waits here, uncommitted

        dead_before = sample((await metrics.exposition()).decode(), "commerce_bus_dead_letters_total")
        async with bus:
            for n in range(4):
                await bus.publish(Event(type="T", payload={"n": n}, source_service="s", topic=topic, key="k"))
            bus.subscribe(group, [topic], handler)
            for _ in range(200):
                text = (await metrics.exposition()).decode()
                if sample(text, "commerce_bus_consumer_lag", group=group, topic=topic) == 3:
                    break
                await asyncio.sleep(0.02)
            stuck.set()
            for _ in range(200):
                text = (await metrics.exposition()).decode()
                if sample(text, "commerce_bus_consumer_lag", group=group, topic=topic) == 0:
                    break
                await asyncio.sleep(0.02)
        assert sample(text, "commerce_bus_consumer_lag", group=group, topic=topic) == 0
        assert sample(text, "commerce_bus_dead_letters_total", group=group, topic=topic) == 1
        assert sample(text, "commerce_bus_dead_letters_total") == dead_before + 1
