"""The orders worker: the order-placement saga and its activities (`commerce worker orders`)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.carts import CartActivities
from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from activities.payments import PaymentActivities, SandboxPayments
from kit.auth.services import service_tokens
from kit.infra import Infra
from workflows.place_order import ORDERS_TASK_QUEUE, PlaceOrderWorkflow


def build_worker(client: Client, infra: Infra) -> Worker:
    token = service_tokens(infra, "orders")
    inventory = InventoryActivities(infra.client("products", token=token))
    payments = PaymentActivities(SandboxPayments())
    orders = OrderActivities(infra.client("orders", token=token))
    carts = CartActivities(infra.client("carts", token=token))
    return Worker(
        client,
        task_queue=ORDERS_TASK_QUEUE,
        workflows=[PlaceOrderWorkflow],
        activities=[
            inventory.reserve_stock,
            inventory.release_stock,
            payments.charge_payment,
            payments.refund_payment,
            orders.set_order_status,
            carts.clear_cart,
        ],
    )
