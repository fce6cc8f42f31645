"""The orders worker registers the saga's search attributes on a Temporal that lacks them (one started
elsewhere, without our flags), so that saga starts, which carry them, are not refused."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from kit.outbox import start_workflow
from kit.temporal import SEARCH_ATTRIBUTES, ensure_search_attributes
from tests.support import eventually, temporal_dev_server
from tests.workflows.shop_fakes import an_order
from workflows import place_order


async def test_a_temporal_without_our_search_attributes_gets_them_once(tmp_path: Path) -> None:
    with temporal_dev_server(tmp_path, search_attributes=False) as address:
        client = await Client.connect(address)
        assert await ensure_search_attributes(client) == sorted(SEARCH_ATTRIBUTES)
        assert await ensure_search_attributes(client) == []  # every worker start asks; nothing more to do

        order = an_order(("red", 1))
        await start_workflow(client, place_order.start(order))  # accepted: it carries all three

        async def listed() -> bool:  # a fresh registration reaches visibility in a moment
            query = f"OrderId = '{order.order_id}' AND OrderStatus = 'PENDING'"
            try:
                return [w.id async for w in client.list_workflows(query)] == [f"order-{order.order_id}"]
            except RPCError:
                return False

        await eventually(listed, within=30, interval=0.5)


async def test_a_temporal_that_has_them_is_left_alone(temporal_address: str) -> None:
    assert await ensure_search_attributes(await Client.connect(temporal_address)) == []
