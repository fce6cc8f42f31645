"""The API gateway: the seed's prefixes forwarded through discovery, and the platform's API docs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway import docs, proxy
from gateway.routes import INTERNAL_SEGMENT, ROUTES
from kit.errors import NotFound
from kit.infra import Infra
from kit.settings import Settings
from kit.web import create_service, get_infra, service_state

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
TITLE = "Commerce API"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("gateway")
    app = create_service(
        settings,
        title=TITLE,
        routers=[_edge(settings)],
        state=_state,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID"],
    )
    return app


@dataclass(frozen=True)
class GatewayState:
    upstreams: httpx.AsyncClient  # one connection pool to every upstream, for the gateway's lifetime


@contextlib.asynccontextmanager
async def _state(_infra: Infra) -> AsyncIterator[GatewayState]:
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
    async with httpx.AsyncClient(follow_redirects=False, limits=limits) as client:
        yield GatewayState(upstreams=client)


def _upstreams(request: Request) -> httpx.AsyncClient:
    return service_state(request, GatewayState).upstreams


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
        timeout = settings.upstream_timeouts.get(service, settings.upstream_timeout)
        router.add_api_route(
            f"/{prefix}{{path:path}}",
            _forwarder(prefix, service, timeout),
            methods=METHODS,
            include_in_schema=False,
        )
    return router


def _forwarder(prefix: str, service: str, timeout: float) -> Callable[..., Awaitable[Response]]:
    async def forward(request: Request, path: str) -> Response:
        if (path and not path.startswith("/")) or INTERNAL_SEGMENT in path.split("/"):
            raise NotFound(f"Not Found: The path '{request.url.path}' does not exist on the API Gateway.")
        registry = get_infra(request).registry
        return await proxy.forward(request, _upstreams(request), registry, service, prefix, timeout)

    return forward
