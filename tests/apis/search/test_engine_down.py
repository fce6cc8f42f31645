"""Elasticsearch gone while the search service runs: every route answers 503 JSON (which clients and the
indexing workflow retry), not 500; and it answers again once the engine is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from apis.search.app import create_app
from kit.search import SearchQuery, SearchUnavailable, open_search
from kit.settings import Settings
from tests.support import asgi_client, free_port, scratch_elastic_index


class Relay:
    """A TCP relay in front of the real Elasticsearch that can be cut and restored: the engine going away
    and coming back, as the service sees it, without stopping the server other tests share.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen (again) on the relay's port."""
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        """Close the port and every connection through it."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._pipes):
            writer.close()
        await self._server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._pipes |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._pipes.discard(writer)
            writer.close()


@contextlib.asynccontextmanager
async def relayed(url: str) -> AsyncIterator[tuple[str, Relay]]:
    """`url` (an Elasticsearch search URL) through a `Relay`."""
    parts = urlsplit(url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 9200))
    await relay.start()
    try:
        yield urlunsplit((parts.scheme, f"127.0.0.1:{relay.port}", parts.path, "", "")), relay
    finally:
        with contextlib.suppress(AssertionError, RuntimeError):
            await relay.cut()


async def test_an_unreachable_engine_is_search_unavailable() -> None:
    async with open_search(f"http://127.0.0.1:{free_port()}/products") as index:
        with pytest.raises(SearchUnavailable) as raised:
            await index.search(SearchQuery(text="lamp"))
    assert raised.value.status_code == 503


@pytest.mark.integration
async def test_the_service_answers_503_while_elasticsearch_is_away(settings: Settings) -> None:
    async with scratch_elastic_index() as url, relayed(url) as (through, relay):
        app = create_app(settings.model_copy(update={"search_url": through}))
        async with asgi_client(app) as client:
            assert (await client.get("/products?q=lamp")).status_code == 200
            await relay.cut()
            assert (await client.get("/ready")).json()["dependencies"]["search"].startswith("DOWN")
            for path in ("/products?q=lamp", "/suggest?q=la"):
                response = await client.get(path)
                assert response.status_code == 503, (path, response.text)
                assert "cannot be reached" in response.json()["message"]
            answer = (await client.get("/products?q=lamp")).json()
            assert answer["code"] == "SearchUnavailable"
            await relay.start()
            assert (await client.get("/products?q=lamp")).status_code == 200
