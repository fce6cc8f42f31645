"""The orders worker: the order-placement saga, the returns' workflow and their activities
(`commerce worker orders`)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.carts import CartActivities
from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from activities.payments import PaymentActivities, SandboxPayments
from contracts import carts, orders, products
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.temporal import WORKFLOW_RUNNER, ensure_search_attributes
from workflows import place_order, returns


def build_worker(client: Client, infra: Infra) -> Worker:
    token = service_tokens(infra, orders.SERVICE)
    inventory = InventoryActivities(products.ProductsClient(infra.client(products.SERVICE, token=token)))
    payments = PaymentActivities(SandboxPayments())
    reports = OrderActivities(orders.OrdersClient(infra.client(orders.SERVICE, token=token)))
    emptying = CartActivities(carts.CartsClient(infra.client(carts.SERVICE, token=token)))
    return Worker(
        client,
        workflow_runner=WORKFLOW_RUNNER,
        task_queue=place_order.TASK_QUEUE,
        workflows=[place_order.PlaceOrderWorkflow, returns.ReturnWorkflow],
        activities=[
            inventory.reserve_stock,
            inventory.release_stock,
            inventory.restock_return,
            payments.charge_payment,
            payments.refund_payment,
            payments.refund_return,
            reports.set_order_status,
            reports.settle_return,
            emptying.clear_cart,
        ],
    )


async def prepare(client: Client, infra: Infra) -> None:
    """Register the search attributes the saga is listed by, where the Temporal lacks them."""
    await ensure_search_attributes(client)
