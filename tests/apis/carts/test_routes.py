"""The carts routes in process (the catalog is never reached): what fuzzing found."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from apis.carts.app import create_app
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client, embedded_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    settings = embedded_settings(tmp_path)
    tokens = Tokens(settings.jwt_issuer)
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()
    async with asgi_client(app) as http:
        yield http, tokens


async def test_associating_an_unknown_cart_answers_the_seed_message_not_500(
    client: tuple[httpx.AsyncClient, Tokens],
) -> None:
    http, tokens = client
    body = {"cartId": str(uuid.uuid4())}
    response = await http.post("/associate", json=body, headers=tokens.headers("customer"))
    assert response.status_code == 200
    assert response.json() == {"message": "Cart not found, no association needed."}
