"""Paths naming nothing stop at the gateway (fuzzing: `/products/id/..` and `/orders/%0A` answered the list,
the HTTP client resolving `..` before forwarding and `$` matching before a final newline)."""

from __future__ import annotations

import httpx
import pytest

from tests.support import raw_get


@pytest.mark.parametrize("target", ["/products/id/..", "/products/id/%2e%2e", "/orders/%0A", "/carts/./x"])
async def test_a_path_naming_nothing_is_a_404_and_never_forwarded(
    gateway: httpx.AsyncClient, target: str
) -> None:
    answer = await raw_get(str(gateway.base_url), target)
    status, _, body = answer.partition(b"\r\n")
    assert status.split()[1] == b"404", answer
    assert b'"RouteNotFound"' in body
