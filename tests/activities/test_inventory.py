"""Stock activities: which answers of the products service are final, and what a release or a restock may
find."""

from __future__ import annotations

import json

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.inventory import InventoryActivities, Restock, StockChange
from contracts.products import ProductsClient
from kit.clients import ServiceClient
from kit.discovery.static import StaticRegistry
from kit.errors import AppError

CHANGE = StockChange(order_id="o1", variant_id="v1", quantity=2)
RESTOCK = Restock(return_id="r1", order_id="o1", order_item_id="i1", variant_id="v1", quantity=2)


def inventory(status: int, body: dict[str, object]) -> InventoryActivities:
    """Activities over a products service that answers every adjustment with `status` and `body`."""
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body))
    registry = StaticRegistry(defaults={"products": "http://products"})
    return InventoryActivities(ProductsClient(ServiceClient(registry, "products", transport=transport)))


async def test_releasing_a_variant_that_was_deleted_is_nothing_to_release() -> None:
    gone = inventory(404, {"message": "Variant v1 not found", "code": "VariantNotFound"})
    await ActivityEnvironment().run(gone.release_stock, CHANGE)


async def test_releasing_what_was_never_reserved_is_nothing_to_release() -> None:
    never = inventory(409, {"message": "nothing held", "code": "ReleaseExceedsReservation"})
    await ActivityEnvironment().run(never.release_stock, CHANGE)


@pytest.mark.parametrize(
    ("status", "code"), [(400, "ValidationError"), (401, "Unauthorized"), (403, "Forbidden"), (422, "X")]
)
async def test_a_final_client_error_is_not_retried(status: int, code: str) -> None:
    refusing = inventory(status, {"message": "no", "code": code})
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(refusing.reserve_stock, CHANGE)
    assert (refused.value.type, refused.value.non_retryable) == (code, True)


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_a_slow_busy_or_broken_service_is_retried(status: int) -> None:
    busy = inventory(status, {"message": "later", "code": "Busy"})
    with pytest.raises(AppError) as failed:  # not an ApplicationError: Temporal retries it
        await ActivityEnvironment().run(busy.reserve_stock, CHANGE)
    assert not isinstance(failed.value, ApplicationError)


async def test_insufficient_stock_is_told_in_the_orders_words() -> None:
    short = inventory(409, {"message": "short", "code": "InsufficientStock", "details": [{"available": 1}]})
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(short.reserve_stock, CHANGE)
    assert refused.value.type == "InsufficientStock"
    assert refused.value.details == ({"variantId": "v1", "requested": 2, "available": 1},)


async def test_a_return_is_restocked_once_per_line_by_its_key_and_related_to_its_order() -> None:
    sent: list[dict[str, object]] = []

    def ledger(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(201, json={"newStockQuantity": 4})

    registry = StaticRegistry(defaults={"products": "http://products"})
    client = ServiceClient(registry, "products", transport=httpx.MockTransport(ledger))
    acts = InventoryActivities(ProductsClient(client))
    assert await ActivityEnvironment().run(acts.restock_return, RESTOCK) == 2
    assert sent == [
        {
            "changeQuantity": 2,
            "type": "RETURN_RESTOCK",
            "relatedOrderId": "o1",
            "reason": "Return request completed: r1",
            "idempotencyKey": "return-r1-i1",
        }
    ]


async def test_restocking_what_the_order_no_longer_holds_restocks_nothing() -> None:
    held = inventory(409, {"message": "nothing held", "code": "ReleaseExceedsReservation"})
    assert await ActivityEnvironment().run(held.restock_return, RESTOCK) == 0
