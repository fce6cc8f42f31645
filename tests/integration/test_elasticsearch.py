"""Elasticsearch answers and the official client (same major as the server) can index and search.

The index adapter itself comes with the search service; this checks the server the run started.
"""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import AsyncElasticsearch

from tests.support import real_server_url

pytestmark = pytest.mark.integration


async def test_the_cluster_is_ready_and_a_document_can_be_found() -> None:
    index = f"smoke-{uuid.uuid4().hex[:8]}"
    async with AsyncElasticsearch(real_server_url("COMMERCE_TEST_ELASTIC_URL"), request_timeout=30) as client:
        health = await client.cluster.health(wait_for_status="yellow", timeout="30s")
        assert health["status"] in ("yellow", "green")
        await client.indices.create(index=index, mappings={"properties": {"name": {"type": "text"}}})
        try:
            await client.index(
                index=index, id="p1", document={"name": "Trail running shoe"}, refresh="wait_for"
            )
            found = await client.search(index=index, query={"match": {"name": "running"}})
            assert [hit["_id"] for hit in found["hits"]["hits"]] == ["p1"]
        finally:
            await client.indices.delete(index=index)
