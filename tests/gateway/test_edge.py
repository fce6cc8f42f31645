"""What a public edge needs (issue 14): client addresses that cannot be forged, tokens checked at the edge,
rate and size limits, a cut-off upstream reported as one, and the gateway holes the fuzzing found.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx
import pytest

from kit.discovery import Instance
from kit.discovery.static import StaticRegistry
from tests.gateway.conftest import GatewayFactory, bearer, header, token
from tests.support import free_port


async def test_a_clients_own_forwarded_headers_are_replaced_by_what_the_gateway_saw(
    gateway: httpx.AsyncClient,
) -> None:
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
    }
    response = await gateway.get("/products/1", headers=forged)
    assert header(response, "x-forwarded-for") == ["127.0.0.1"]
    assert header(response, "x-forwarded-host") == [urlsplit(str(gateway.base_url)).netloc]
    assert header(response, "x-forwarded-proto") == ["http"]


async def test_a_configured_proxy_in_front_of_the_gateway_is_believed(open_gateway: GatewayFactory) -> None:
    async with open_gateway(edge_trusted_proxies=["127.0.0.1"]) as gateway:
        response = await gateway.get("/products/1", headers={"X-Forwarded-For": "198.51.100.4, 127.0.0.1"})
    assert header(response, "x-forwarded-for") == ["198.51.100.4"]


async def test_a_verified_caller_is_forwarded_and_a_clients_own_identity_headers_are_not(
    gateway: httpx.AsyncClient,
) -> None:
    forged = {"X-Verified-User-Id": "admin", "X-Verified-Role": "Administrator"}
    anonymous = await gateway.get("/products/1", headers=forged)
    assert header(anonymous, "x-verified-user-id") == []
    assert header(anonymous, "x-verified-role") == []
    signed_in = await gateway.get("/products/1", headers=forged | bearer("user-42"))
    assert header(signed_in, "x-verified-user-id") == ["user-42"]
    assert header(signed_in, "x-verified-role") == ["Customer"]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer not-a-token", "InvalidToken"),
        (f"Bearer {token(exp=1)}", "TokenExpired"),
        (f"Bearer {token()[:-4]}AAAA", "InvalidToken"),
    ],
)
async def test_a_bad_token_stops_at_the_edge(
    gateway: httpx.AsyncClient, authorization: str, code: str
) -> None:
    response = await gateway.get("/products/1", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert "path" not in response.json()  # the upstream never saw it


async def test_one_address_past_its_burst_answers_429_json_with_retry_after(
    open_gateway: GatewayFactory,
) -> None:
    async with open_gateway(rate_limit={"per_second": 0.5, "burst": 3}) as gateway:
        statuses = [(await gateway.get("/products/1")).status_code for _ in range(3)]
        refused = await gateway.get("/products/1")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "RateLimited"
    assert 1 <= int(refused.headers["retry-after"]) <= 2


async def test_one_user_is_limited_whatever_address_it_comes_from(open_gateway: GatewayFactory) -> None:
    settings = {"rate_limit": {"per_second": 0.1, "burst": 2}, "edge_trusted_proxies": ["127.0.0.1"]}
    async with open_gateway(**settings) as gateway:

        async def get(address: str, subject: str) -> int:
            headers = {"X-Forwarded-For": address} | bearer(subject)
            return (await gateway.get("/products/1", headers=headers)).status_code

        same_user = [await get(f"198.51.100.{n}", "user-1") for n in range(3)]
        other_user = await get("198.51.100.50", "user-2")
    assert same_user == [200, 200, 429]
    assert other_user == 200


async def test_logins_registrations_and_orders_have_their_own_stricter_limit(
    open_gateway: GatewayFactory,
) -> None:
    async with open_gateway(strict_rate_limit={"per_second": 0.01, "burst": 2}) as gateway:
        logins = [(await gateway.post("/auth/login", json={})).status_code for _ in range(3)]
        orders = [(await gateway.post("/orders", json={})).status_code for _ in range(3)]
        reads = [(await gateway.get("/orders/1")).status_code for _ in range(5)]
    assert logins == [200, 200, 429]
    assert orders == [200, 200, 429]
    assert reads == [200] * 5


async def test_the_buckets_live_on_the_cache_port(open_gateway: GatewayFactory) -> None:
    """Two gateways on one cache (Redis when real) share their limits."""
    async with open_gateway(
        cache_url="memory://shared-limits", rate_limit={"per_second": 0.01, "burst": 2}
    ) as one:
        assert (await one.get("/products/1")).status_code == 200
        async with open_gateway(
            cache_url="memory://shared-limits", rate_limit={"per_second": 0.01, "burst": 2}
        ) as two:
            assert (await two.get("/products/1")).status_code == 200
            assert (await two.get("/products/1")).status_code == 429


async def raw_request(gateway: httpx.AsyncClient, head: bytes, body: bytes = b"", within: float = 5) -> bytes:
    """Send `head` and `body` over a socket of its own and read the answer until the gateway closes."""
    url = urlsplit(str(gateway.base_url))
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), within)
    finally:
        writer.close()


async def test_a_cache_down_stops_no_request(open_gateway: GatewayFactory) -> None:
    async with open_gateway(cache_url=f"redis://127.0.0.1:{free_port()}/0") as gateway:
        assert (await gateway.get("/products/1")).status_code == 200


async def test_a_body_declared_above_the_limit_answers_413_before_it_is_sent(
    gateway: httpx.AsyncClient,
) -> None:
    head = f"POST /products/upload HTTP/1.1\r\nhost: gw\r\ncontent-length: {2 << 20}\r\n\r\n".encode()
    answer = await raw_request(gateway, head)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"PayloadTooLarge"' in answer


async def test_a_streamed_body_is_cut_at_the_limit_with_413(open_gateway: GatewayFactory) -> None:
    async with open_gateway(max_body_bytes=1000) as gateway:
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        head = b"POST /products/upload HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n"
        answer = await raw_request(gateway, head, chunk * 3)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"PayloadTooLarge"' in answer


async def test_image_uploads_have_their_larger_limit(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/images/upload", content=b"x" * (2 << 20))
    assert response.json()["code"] == "UpstreamUnavailable"  # past the size guard; images is not running


async def test_a_body_that_stalls_answers_408_without_holding_the_connection(
    open_gateway: GatewayFactory,
) -> None:
    async with open_gateway(body_timeout=0.3) as gateway:
        head = b"POST /products/upload HTTP/1.1\r\nhost: gw\r\ncontent-length: 1000\r\n\r\n"
        answer = await raw_request(gateway, head, b"x" * 10, within=5)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"RequestTimeout"' in answer


async def test_an_upstream_cut_off_midway_aborts_the_clients_connection(open_gateway: GatewayFactory) -> None:
    async with open_gateway(routes={"auth": "cut_off"}) as gateway:
        with pytest.raises(httpx.RemoteProtocolError):
            await gateway.get("/auth/me")


async def test_an_upstream_gone_before_its_body_answers_502(open_gateway: GatewayFactory) -> None:
    async with open_gateway(routes={"auth": "nothing"}) as gateway:
        response = await gateway.get("/auth/me")
    assert response.status_code == 502
    assert response.json()["code"] == "BadGateway"


@pytest.mark.parametrize(("path", "reached"), [("/%70roducts/a%2Fb", "/a%2Fb"), ("/%63arts", "/")])
async def test_a_percent_encoded_prefix_is_the_prefix(
    gateway: httpx.AsyncClient, path: str, reached: str
) -> None:
    response = await gateway.get(path)
    assert response.status_code == 200
    assert response.json()["path"] == reached


async def test_a_prefix_with_an_encoded_slash_is_not_routed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/carts%2f")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


async def test_any_byte_in_a_header_passes_through(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/products/1", headers=[(b"X-Note", "café".encode())])
    assert response.status_code == 200
    assert header(response, "x-note") == ["café".encode().decode("latin-1")]


async def test_a_header_that_is_not_utf8_answers_400_naming_it(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/products/1", headers=[(b"X-Note", b"caf\xe9")])
    assert response.status_code == 400
    assert response.json() == {"message": "Header 'x-note' is not valid UTF-8.", "code": "InvalidHeader"}


async def test_an_upstreams_cookie_is_never_replayed_to_other_clients(gateway: httpx.AsyncClient) -> None:
    assert "set-cookie" in (await gateway.get("/products/cookie")).headers
    gateway.cookies.clear()
    assert header(await gateway.get("/products/1"), "cookie") == []


async def test_a_trailing_slash_is_routed_not_redirected(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/products/abc/")
    assert response.status_code == 200
    assert response.json()["path"] == "/abc"


async def test_a_proxied_answer_has_one_date_and_no_upstream_server_header(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/products/1")
    assert len(response.headers.get_list("date")) == 1
    assert len(response.headers.get_list("server")) <= 1


async def test_the_trace_context_is_continued_or_started(gateway: httpx.AsyncClient) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    continued = header(
        await gateway.get("/products/1", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}),
        "traceparent",
    )
    assert len(continued) == 1
    assert re.fullmatch(rf"00-{trace}-[0-9a-f]{{16}}-01", continued[0])
    assert not continued[0].endswith("00f067aa0ba902b7-01")  # the gateway's own span
    started = header(await gateway.get("/products/1", headers={"traceparent": "garbage"}), "traceparent")
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", started[0])


async def test_timeouts_are_per_route(open_gateway: GatewayFactory) -> None:
    async with open_gateway(upstream_timeouts={"products/slow": 0.3}) as gateway:
        assert (await gateway.get("/products/slow")).status_code == 504
        assert (await gateway.get("/products/1")).status_code == 200


async def test_idempotent_requests_are_retried_on_another_instance_when_one_refuses(
    open_gateway: GatewayFactory,
) -> None:
    async with open_gateway() as gateway:
        echo = await gateway.get("/products/1")  # the echo upstream's address, from what it received
        registry = StaticRegistry()
        live_port = int(header(echo, "host")[0].rsplit(":", 1)[1])
        instances = [
            Instance("orders", "orders-dead", "127.0.0.1", free_port()),
            Instance("orders", "orders-live", "127.0.0.1", live_port),
        ]
        for instance in instances:
            await registry.register(instance)
        try:
            reads = [(await gateway.get("/orders/1")).status_code for _ in range(6)]
            writes = [(await gateway.post("/orders/1", json={})).status_code for _ in range(6)]
        finally:
            for instance in instances:
                await registry.deregister(instance)
    assert reads == [200] * 6
    assert 503 in writes  # a POST is never sent twice
    assert 200 in writes


async def test_cors_allows_only_the_configured_origins(open_gateway: GatewayFactory) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    async with open_gateway(cors_origins=["https://shop.example"]) as gateway:
        allowed = await gateway.options("/products", headers={"Origin": "https://shop.example"} | preflight)
        other = await gateway.get("/products/1", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers


async def test_cors_for_any_origin_never_allows_credentials(open_gateway: GatewayFactory) -> None:
    async with open_gateway(cors_origins=["*"]) as gateway:
        response = await gateway.get("/products/1", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


async def test_health_reports_each_upstream(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/health")
    assert response.status_code == 200
    upstreams = response.json()["upstreams"]
    assert set(upstreams) == {"auth", "products", "images", "search", "carts", "orders", "stats", "reviews"}
    assert upstreams["products"] == "UP"
    assert upstreams["images"].startswith("DOWN")
