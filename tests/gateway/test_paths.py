"""Paths naming nothing stop at the gateway (fuzzing: `/products/id/..` and `/orders/%0A` answered the list,
the HTTP client resolving `..` before forwarding and `$` matching before a final newline)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest


@pytest.mark.parametrize("target", ["/products/id/..", "/products/id/%2e%2e", "/orders/%0A", "/carts/./x"])
async def test_a_path_naming_nothing_is_a_404_and_never_forwarded(
    gateway: httpx.AsyncClient, target: str
) -> None:
    address = urlsplit(str(gateway.base_url))
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status, _, body = answer.partition(b"\r\n")
    assert status.split()[1] == b"404", answer
    assert b'"RouteNotFound"' in body
