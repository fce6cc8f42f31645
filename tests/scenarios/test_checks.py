"""The scenario set's own checks, without a platform: they catch what they are meant to catch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts import auth, orders, products
from kit.bus import Event, open_bus
from tests.scenarios import events
from tests.scenarios.runner import EVENTS, NO_BUS, WrongAnswers, open_run, play_all
from tests.scenarios.shop import Admin, Caused, send

START = datetime(2026, 12, 2, tzinfo=UTC)


def event(topic: str, kind: str, key: str, seconds: int = 0, **payload: object) -> Event:
    return Event(
        type=kind,
        payload=payload,
        source_service="test",
        topic=topic,
        key=key,
        timestamp=START + timedelta(seconds=seconds),
    )


def caused_one_of_each() -> Caused:
    caused = Caused()
    caused.event(auth.AUTH_EVENTS, auth.USER_CREATED, "u1")
    caused.event(orders.ORDER_EVENTS, orders.ORDER_CREATED, "o1")
    caused.event(products.PRODUCT_EVENTS, products.PRODUCT_CREATED, "p1")
    caused.stock["p1"] = {"v1": 3}
    return caused


def log_of_each() -> list[Event]:
    return [
        event(auth.AUTH_EVENTS, auth.USER_CREATED, "u1"),
        event(orders.ORDER_EVENTS, orders.ORDER_CREATED, "o1"),
        event(
            products.PRODUCT_EVENTS,
            products.PRODUCT_CREATED,
            "p1",
            variants=[{"id": "v1", "stockQuantity": 4}],
        ),
        event(
            products.PRODUCT_EVENTS,
            products.PRODUCT_UPDATED,
            "p1",
            5,
            variants=[{"id": "v1", "stockQuantity": 3}],
        ),
    ]


class TestJudge:
    def test_each_event_once_and_the_last_stock_is_right(self) -> None:
        assert events.judge(caused_one_of_each(), log_of_each()) == []

    def test_a_missing_event_is_named(self) -> None:
        log = [e for e in log_of_each() if e.type != orders.ORDER_CREATED]
        assert events.judge(caused_one_of_each(), log) == [
            f"{orders.ORDER_CREATED} of o1 on {orders.ORDER_EVENTS}: 0 times, expected 1"
        ]

    def test_an_event_published_twice_under_two_ids_is_named(self) -> None:
        log = [*log_of_each(), event(auth.AUTH_EVENTS, auth.USER_CREATED, "u1")]
        assert events.judge(caused_one_of_each(), log) == [
            f"{auth.USER_CREATED} of u1 on {auth.AUTH_EVENTS}: 2 times, expected 1"
        ]

    def test_an_event_delivered_twice_under_one_id_is_named(self) -> None:
        log = log_of_each()
        update = log[-1]
        problems = events.judge(caused_one_of_each(), [*log, update])
        assert problems == [
            f"events delivered twice under one id: ['{products.PRODUCT_UPDATED} {update.id}']"
        ]

    def test_a_stock_movement_that_never_reached_the_bus_is_named(self) -> None:
        log = log_of_each()[:-1]
        problems = events.judge(caused_one_of_each(), log)
        assert problems == ["product p1: its last event shows stock {'v1': 4}, the catalog's {'v1': 3}"]


async def test_the_bus_is_read_until_the_late_events_arrive() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    async with open_bus(url) as bus:
        for published in log_of_each():
            await bus.publish(published)
        observed = await events.observe(url, caused_one_of_each(), within=1)
    assert observed.problems == []
    assert observed.summary() == (
        f"4 events observed: 1 {orders.ORDER_CREATED}, 1 {products.PRODUCT_CREATED}, "
        f"1 {products.PRODUCT_UPDATED}, 1 {auth.USER_CREATED}"
    )


def answering(status: int, body: bytes, content_type: str = "application/json") -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda _: httpx.Response(status, content=body, headers={"content-type": content_type})
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "wrong"),
    [
        (200, b"{}", "application/json", False),
        (404, b'{"message": "Not Found"}', "application/json", False),
        (503, b'{"message": "down"}', "application/json", True),
        (400, b"<html>bad</html>", "text/html", True),
        (409, b'{"detail": "no message"}', "application/json", True),
    ],
)
async def test_a_5xx_or_an_error_without_a_json_message_is_a_wrong_answer(
    status: int, body: bytes, content_type: str, wrong: bool
) -> None:
    hook = WrongAnswers()
    transport = answering(status, body, content_type)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://shop", event_hooks={"response": [hook]}
    ) as http:
        await http.get("/orders")
    assert bool(hook.found) is wrong, hook.found


async def test_a_429_is_waited_out_and_sent_again() -> None:
    answers = iter([httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"})])

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(201, json={"id": "o1"}))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://shop") as http:
        response = await send(http, "POST", "/orders", json={})
    assert (response.status_code, response.json()) == (201, {"id": "o1"})


async def test_without_a_bus_the_events_check_is_a_skip_that_says_so() -> None:
    reported: list[str] = []
    async with open_run("http://shop", Admin("a@example.com", "pw"), None) as run:
        outcomes = await play_all(run, [], lambda outcome: reported.append(outcome.line()))
    assert [(o.verdict, o.detail) for o in outcomes] == [("SKIP", NO_BUS)]
    assert reported == [f"SKIP  {EVENTS} (0.0 s): {NO_BUS}"]
