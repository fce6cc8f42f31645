"""The images service under test: its app on a storage folder in `tmp_path`, and callers holding genuine
access tokens (the products tests' signer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apis.images.app import create_app
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client


@dataclass
class Images:
    client: httpx.AsyncClient
    tokens: Tokens
    folder: Path

    async def upload(
        self, data: bytes, filename: str = "photo.jpg", mimetype: str = "image/jpeg", *, as_: str = "customer"
    ) -> httpx.Response:
        files = {"imageFile": (filename, data, mimetype)}
        return await self.client.post("/upload", files=files, headers=self.tokens.headers(as_))

    def stored(self) -> list[str]:
        """Every file under the storage folder, temporary ones included."""
        return sorted(str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.is_file())


@pytest.fixture
async def images(settings: Settings) -> AsyncIterator[Images]:
    tokens = Tokens(settings.jwt_issuer)
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()
    async with asgi_client(app) as client:
        yield Images(client, tokens, Path(settings.images_store))
