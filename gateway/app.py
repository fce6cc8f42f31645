"""The API gateway: the seed's prefixes forwarded through discovery, checked at the edge (tokens, rate and
size limits, CORS), and the platform's API docs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from contracts import images
from gateway import docs, limits, proxy
from gateway.routes import ROUTES, forwarded
from kit import metrics, tracing
from kit.auth.edge import ROLE_HEADER, USER_ID_HEADER
from kit.auth.principal import Principal
from kit.auth.tokens import token_verifier
from kit.errors import NotFound
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service, get_infra, service_state

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
TITLE = "Commerce API"
UPLOAD_PATH = images.PUBLIC_PREFIX + images.UPLOAD_PATH


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("gateway")
    app = create_service(
        settings,
        title=TITLE,
        routers=[_edge(settings)],
        state=_state,
        health_details=_upstream_health,
        body_limits={UPLOAD_PATH: images.upload_body_limit(settings.max_upload_bytes)},
        trusted_proxies=settings.edge_trusted_proxies,
        edge=True,  # its metrics on metrics_port, never on the public port
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if settings.cors_origins:
        anyone = "*" in settings.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"] if anyone else settings.cors_origins,
            allow_credentials=not anyone,  # a page from anywhere never gets to send the user's cookies
            allow_methods=METHODS,
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    return app


@dataclass(frozen=True)
class GatewayState:
    """The gateway's connection pools to every upstream, for its lifetime."""

    proxied: aiohttp.ClientSession  # what clients send: the hot path (proxy.upstream_session)
    upstreams: httpx.AsyncClient  # the gateway's own calls: API docs, health


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[GatewayState]:
    settings = infra.settings
    port = settings.metrics_port if settings.metrics_enabled else None
    async with (
        metrics.serving(settings.host, port),
        proxy.upstream_session() as session,
        httpx.AsyncClient(follow_redirects=False) as client,
    ):
        tracing.instrument_httpx(client)
        yield GatewayState(proxied=session, upstreams=client)


def _upstreams(request: Request) -> httpx.AsyncClient:
    return service_state(request, GatewayState).upstreams


async def _upstream_health(request: Request) -> Mapping[str, Any]:
    """Each upstream's own `/health`, asked now: what the gateway can reach, not only that it runs."""
    registry, client = get_infra(request).registry, _upstreams(request)

    async def one(service: str) -> str:
        try:
            response = await client.get(f"{await registry.resolve(service)}/health", timeout=2)
            return "UP" if response.status_code == 200 else f"DOWN: answered {response.status_code}"
        except Exception as exc:
            return f"DOWN: {exc!r}"[:300]

    services = sorted(set(ROUTES.values()))
    states = await asyncio.gather(*(one(service) for service in services))
    return {"upstreams": dict(zip(services, states, strict=True))}


def _edge(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def online() -> dict[str, str]:
        return {"message": "API Gateway is online."}

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        document = await docs.merged_openapi(_upstreams(request), get_infra(request).registry, TITLE)
        return JSONResponse(document)

    @router.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=TITLE)

    for prefix, service in ROUTES.items():
        router.add_api_route(
            f"/{prefix}{{path:path}}",
            _forwarder(prefix, service, settings),
            methods=METHODS,
            include_in_schema=False,
        )
    return router


def upstream_timeout(settings: Settings, prefix: str, path: str) -> float:
    """The timeout of the longest `upstream_timeouts` key prefixing the path (`orders`, `images/upload`)."""
    route = f"{prefix}{path}".strip("/")
    matching = [
        key
        for key in settings.upstream_timeouts
        if route == key.strip("/") or route.startswith(f"{key.strip('/')}/")
    ]
    return settings.upstream_timeouts[max(matching, key=len)] if matching else settings.upstream_timeout


async def _verified(request: Request) -> Principal | None:
    """The caller a bearer token names, verified here (a bad token stops at the edge), else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await token_verifier(request).verify(token.strip())


def _forwarder(prefix: str, service: str, settings: Settings) -> Callable[..., Awaitable[Response]]:
    async def forward(request: Request, path: str) -> Response:
        target = proxy.upstream_path(request, prefix)
        if target is None or (path and not path.startswith("/")) or not forwarded(path):
            raise NotFound(f"Not Found: The path '{request.url.path}' does not exist on the API Gateway.")
        infra = get_infra(request)
        principal = await _verified(request)
        address = request.client.host if request.client else "unknown"
        await limits.check(
            infra.cache,
            settings,
            method=request.method,
            prefix=prefix,
            path=path,
            address=address,
            principal=principal,
        )
        identity = (
            [
                (USER_ID_HEADER.encode(), principal.id.encode()),
                (ROLE_HEADER.encode(), principal.role.encode()),
            ]
            if principal
            else []
        )
        return await proxy.forward(
            request,
            service_state(request, GatewayState).proxied,
            infra.registry,
            service,
            target,
            prefix=prefix,
            seconds=upstream_timeout(settings, prefix, path),
            retries=settings.upstream_retries,
            identity=identity,
        )

    return forward
