"""Payment activities over a payment port, and the built-in sandbox provider.

A real provider plugs in by implementing `PaymentGateway` (charge and refund, both idempotent by order
id: providers take an idempotency key; a partial refund, idempotent by its own key, the return's id) and
being passed to `PaymentActivities` in `workers/orders.py`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.orders import PAYMENT_DECLINED


class Charge(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    amount: str
    token: str | None = None


class Refund(BaseModel):
    """Part of an order's charge to give back (a return's lines), once per `key`."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    key: str
    amount: str


class PaymentRefused(Exception):
    """The provider declined the charge: a business outcome, not worth retrying."""


class PaymentGateway(Protocol):
    async def charge(self, charge: Charge) -> str:
        """Charge once per order id; return the transaction id (the same one on a retry)."""

    async def refund(self, charge: Charge) -> None:
        """Give the money back; nothing happens if nothing was charged."""

    async def refund_part(self, refund: Refund) -> str:
        """Give back part of a charge, once per refund key; return the refund's id (the same on a retry)."""


# Sandbox card tokens: anything else (or none) is approved.
DECLINED_TOKENS = {"tok_declined": "Card declined", "tok_insufficient_funds": "Insufficient funds"}
FLAKY_TOKEN = "tok_flaky"  # the provider is unreachable on the first attempt of each order, then approves


class SandboxPayments:
    """Approves or declines deterministically by card token; transaction ids derive from the order id."""

    def __init__(self) -> None:
        self.charged: dict[str, Decimal] = {}
        self.refunded: set[str] = set()
        self.partial_refunds: dict[str, Decimal] = {}  # by refund key
        self._failed_once: set[str] = set()

    async def charge(self, charge: Charge) -> str:
        if charge.token in DECLINED_TOKENS:
            raise PaymentRefused(DECLINED_TOKENS[charge.token])
        if charge.token == FLAKY_TOKEN and charge.order_id not in self._failed_once:
            self._failed_once.add(charge.order_id)
            raise ConnectionError("payment provider unreachable")
        self.charged[charge.order_id] = Decimal(charge.amount)
        return transaction_id(charge.order_id)

    async def refund(self, charge: Charge) -> None:
        if charge.order_id in self.charged:
            self.refunded.add(charge.order_id)

    async def refund_part(self, refund: Refund) -> str:
        self.partial_refunds.setdefault(refund.key, Decimal(refund.amount))
        return f"rfd_{uuid.uuid5(uuid.NAMESPACE_URL, f'refund:{refund.key}').hex}"


def transaction_id(order_id: str) -> str:
    return f"txn_{uuid.uuid5(uuid.NAMESPACE_URL, f'order:{order_id}').hex}"


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn(name="charge_payment")
    async def charge_payment(self, charge: Charge) -> str:
        try:
            return await self._gateway.charge(charge)
        except PaymentRefused as refused:
            raise ApplicationError(str(refused), type=PAYMENT_DECLINED, non_retryable=True) from refused

    @activity.defn(name="refund_payment")
    async def refund_payment(self, charge: Charge) -> None:
        await self._gateway.refund(charge)

    @activity.defn(name="refund_return")
    async def refund_return(self, refund: Refund) -> str:
        return await self._gateway.refund_part(refund)
