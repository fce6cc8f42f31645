"""Auth service: users, roles, permissions and tokens."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from apis.auth import routes, seed
from apis.auth.context import AuthContext
from kit.auth.tokens import TokenVerifier
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("auth")

    @contextlib.asynccontextmanager
    async def open_state(infra: Infra) -> AsyncIterator[AuthContext]:
        """Load (or provision) the keys, refusing unsafe ones in production, then complete the seed."""
        auth = AuthContext.load(settings)
        if infra.sessions is None:
            raise RuntimeError("the auth service needs its database")
        await seed.run(infra.sessions, settings, auth.passwords)

        async def own_keys() -> Mapping[str, Any]:  # this service verifies with its own keys, no round trip
            return auth.signer.jwks()

        app.state.token_verifier = TokenVerifier(own_keys, issuer=settings.jwt_issuer)
        yield auth

    app = create_service(
        settings, title="Auth service", routers=[routes.router], migrations=MIGRATIONS, state=open_state
    )
    return app
