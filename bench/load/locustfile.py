"""The seed's combined workload (its k6 `combined-workload.js`) as four Locust users, in its proportions and
think times; run by `python -m bench.load`, which sets the variables below and reads what this writes.

- `LOAD_SCALE`: the share of the seed's 160 users (100 window shoppers, 10 searchers, 25 guest and 25
  registered buyers), each kind at least one;
- `LOAD_ACCOUNTS`: a JSON file of the registered buyers' pool (`[{"email", "password"}]`);
- `LOAD_OUT`: where the figures go when Locust quits: each request's scenario, time and outcome, the checks
  counted as k6 counts them (name -> passes, fails) and every order answered (its id, status, lines).

A `409 InsufficientStock` is a correct answer (the catalog has a scarce product to exercise refusals): the
request is no error and the order check passes; the order exists, failed, and the audit checks it too.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import ResponseContextManager

from bench.load.mix import users_of
from contracts.products import INSUFFICIENT_STOCK

HEADERS = {"Content-Type": "application/json", "Accept-Language": "en-US", "X-Currency": "USD"}
SEARCH_TERMS = ("computer", "shirt", "monitor", "keyboard")
SCALE = float(os.environ.get("LOAD_SCALE", "1"))
PHONE = "555-555-5555"


class Figures:
    """What the runner reads back: requests by scenario, k6-style checks, the orders answered."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, float, bool]] = []  # scenario, name, ms, failed
        self.checks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.orders: list[dict[str, Any]] = []

    def check(self, name: str, passed: bool) -> None:
        self.checks[name][0 if passed else 1] += 1

    def write(self, path: str) -> None:
        with open(path, "w") as out:
            json.dump({"requests": self.requests, "checks": self.checks, "orders": self.orders}, out)


figures = Figures()


def _count(name: str, response_time: float, exception: BaseException | None, **_: Any) -> None:
    figures.requests.append((name.partition(":")[0], name, response_time, exception is not None))


def _write(**_: Any) -> None:
    if out := os.environ.get("LOAD_OUT"):
        figures.write(out)


events.request.add_listener(_count)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write)  # type: ignore[no-untyped-call]


def past_instant() -> str:
    """The seed's `getRandomPastDateISO` (sent as `overrideCreatedAt`, which this platform ignores)."""
    return (datetime.now(UTC) - timedelta(seconds=random.uniform(0, 2 * 365 * 86400))).isoformat()


class Shopper(FastHttpUser):
    abstract = True
    scenario = ""

    def ok(self, response: ResponseContextManager, check: str, *statuses: int) -> bool:
        passed = response.status_code in statuses
        figures.check(check, passed)
        if not passed:
            response.failure(f"{response.status_code}: {(response.text or '')[:200]}")  # type: ignore[no-untyped-call]
        return passed

    def pick_items(self) -> list[dict[str, Any]]:
        """The seed's `getRandomProducts`: 1-3 distinct products of the first 50, a random variant each."""
        wanted = random.randint(1, 3)
        with self.client.get(
            "/products?page=1&limit=50",
            headers=HEADERS,
            name=f"{self.scenario}: GET /products?limit=50",
            catch_response=True,
        ) as response:
            if not self.ok(response, "products listed", 200):
                return []
            products = [p for p in response.json()["data"] if p.get("variants")]
        picked: dict[str, dict[str, Any]] = {}
        for _ in range(min(wanted, len(products))):
            for _attempt in range(10):
                product = random.choice(products)
                if product["id"] not in picked:
                    variant = random.choice(product["variants"])
                    picked[product["id"]] = {
                        "productId": product["id"],
                        "variantId": variant["id"],
                        "quantity": 1,
                    }
                    break
        return list(picked.values())

    def order(self, body: dict[str, Any], headers: dict[str, str], check: str) -> None:
        key = (
            uuid.uuid4().hex
        )  # the seed's orders are distinct: without a key, a repeat within a minute is one
        with self.client.post(
            "/orders",
            json=body,
            headers={**headers, "Idempotency-Key": key},
            name=f"{self.scenario}: POST /orders",
            catch_response=True,
        ) as response:
            answer = response.json() if response.text else {}
            refused = response.status_code == 409 and answer.get("code") == INSUFFICIENT_STOCK
            order_id = answer.get("id") or next(
                (d["orderId"] for d in answer.get("details") or [] if isinstance(d, dict) and "orderId" in d),
                None,
            )
            if refused:
                response.success()
                figures.check(check, True)
            else:
                self.ok(response, check, 201, 202)
            if order_id:
                figures.orders.append(
                    {"id": order_id, "answer": response.status_code, "items": body["items"], "key": key}
                )


class WindowShopper(Shopper):
    """`GET /products?page=1&limit=12`; check 200; sleep 2."""

    scenario = "window_shoppers"
    fixed_count = users_of(scenario, SCALE)
    wait_time = constant(2)

    @task
    def browse(self) -> None:
        with self.client.get(
            "/products?page=1&limit=12",
            headers=HEADERS,
            name=f"{self.scenario}: GET /products?limit=12",
            catch_response=True,
        ) as response:
            self.ok(response, "window shopper: status 200", 200)


class MissionCustomer(Shopper):
    """`GET /search/products?q=<term>&limit=20`; check 200; sleep 3."""

    scenario = "mission_customers"
    fixed_count = users_of(scenario, SCALE)
    wait_time = constant(3)

    @task
    def search(self) -> None:
        with self.client.get(
            f"/search/products?q={random.choice(SEARCH_TERMS)}&limit=20",
            headers=HEADERS,
            name=f"{self.scenario}: GET /search/products",
            catch_response=True,
        ) as response:
            self.ok(response, "mission customer: status 200", 200)


class GuestBuyer(Shopper):
    """Pick 1-3 products, sleep 1, a cash-on-delivery guest order; check 201; no think time after."""

    scenario = "guest_buyers"
    fixed_count = users_of(scenario, SCALE)
    wait_time = constant(0)
    iteration = 0

    @task
    def buy(self) -> None:
        items = self.pick_items()
        if not items:
            return
        time.sleep(1)  # cooperative: Locust patched the process for gevent
        self.iteration += 1
        body = {
            "guestName": "Guest User",
            "guestEmail": f"guest-{id(self)}-{self.iteration}@test.com",
            "phone": PHONE,
            "shippingAddress": {
                "street": "123 Guest St",
                "city": "Guestville",
                "postalCode": "54321",
                "country": "Containerland",
            },
            "paymentMethod": "CASH_ON_DELIVERY",
            "items": items,
            "overrideCreatedAt": past_instant(),
        }
        self.order(body, HEADERS, "guest order: status 201")


class RegisteredBuyer(Shopper):
    """Pick 1-3 products, log in as a random pool user (check 200), sleep 1, a card order; check 201."""

    scenario = "registered_buyers"
    fixed_count = users_of(scenario, SCALE)
    wait_time = constant(0)

    def on_start(self) -> None:
        with open(os.environ["LOAD_ACCOUNTS"]) as accounts:
            self.accounts: list[dict[str, str]] = json.load(accounts)

    @task
    def buy(self) -> None:
        items = self.pick_items()
        if not items:
            return
        with self.client.post(
            "/auth/login",
            json=random.choice(self.accounts),
            headers=HEADERS,
            name=f"{self.scenario}: POST /auth/login",
            catch_response=True,
        ) as response:
            if not self.ok(response, "login: status 200", 200):
                return
            token = response.json()["token"]
        time.sleep(1)  # cooperative: Locust patched the process for gevent
        body = {
            "phone": PHONE,
            "shippingAddress": {
                "street": "123 Registered St",
                "city": "Userville",
                "postalCode": "12345",
                "country": "Containerland",
            },
            "paymentMethod": "CREDIT_CARD",
            "items": items,
            "overrideCreatedAt": past_instant(),
        }
        self.order(body, {**HEADERS, "Authorization": f"Bearer {token}"}, "registered order: status 201")
