"""The web app factory every service and the gateway use: lifespan with the ports, health and readiness,
request ids, access logs and JSON errors for every failure.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict, TypeVar

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import context as otel_context
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import db, metrics, tracing
from kit.bus import EventBus
from kit.cache import Cache
from kit.discovery import Instance
from kit.errors import AppError
from kit.guards import BodyGuard, NoNul, PlainPaths, TrailingSlash, TrustedForwarded
from kit.infra import Infra, open_infra
from kit.logs import configure_logging, request_id_var, service_var
from kit.openapi import truthful_openapi
from kit.settings import Settings

log = logging.getLogger("kit.web")
access_log = logging.getLogger("kit.access")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


S = TypeVar("S")
Check = Callable[[], Awaitable[None]]  # raises when its dependency cannot answer


class State(TypedDict):
    """What every app's lifespan yields, as request state: the ports (`get_infra`) and the service's own
    lifetime state, `None` when it has none (`service_state`).
    """

    infra: Infra
    service: object


def create_service(
    settings: Settings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    migrations: Path | None = None,
    on_startup: Callable[[Infra], Awaitable[None]] | None = None,
    state: Callable[[Infra], contextlib.AbstractAsyncContextManager[S]] | None = None,
    checks: Callable[[S], Mapping[str, Check]] | None = None,
    description: str = "",
    health_details: Callable[[Request], Awaitable[Mapping[str, Any]]] | None = None,
    body_limits: Mapping[str, int] | None = None,
    trusted_proxies: Sequence[str] | None = None,
    edge: bool = False,
    **fastapi_options: Any,
) -> FastAPI:
    """A FastAPI app wired to its ports; `migrations` gives the service a database and an outbox.

    `on_startup` runs once the ports are open (seeding); `state` opens what the service's routes share for
    the app's lifetime (clients of other services, keys) as one object, which they read with `service_state`;
    `checks` names what of that state `/ready` must also find answering (the search service's index).
    `health_details` adds to `/health` (the gateway's upstreams); `body_limits` raises the body limit of
    some paths (an upload); `trusted_proxies` replaces the peers whose X-Forwarded-* are believed (the
    gateway's are the proxies in front of it); `edge` (the gateway) serves no `/metrics` on its public port.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        service_var.set(settings.service_name)
        async with contextlib.AsyncExitStack() as stack:
            infra = await stack.enter_async_context(open_infra(settings, migrations=migrations))
            if on_startup is not None:
                await on_startup(infra)
            service = await stack.enter_async_context(state(infra)) if state else None
            instance = _instance(settings)
            await infra.registry.register(instance)
            stack.push_async_callback(infra.registry.deregister, instance)
            log.info("service started", extra={"url": instance.url})
            yield State(infra=infra, service=service)

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        redirect_slashes=False,  # TrailingSlash routes `/me/` as `/me` instead
        **fastapi_options,
    )
    app.add_middleware(
        BodyGuard,
        default=settings.max_body_bytes,
        limits=body_limits or {},
        timeout=settings.body_timeout,
    )
    app.add_middleware(NoNul)
    app.add_middleware(TrailingSlash)
    app.add_middleware(PlainPaths)
    trusted = settings.trusted_proxies if trusted_proxies is None else trusted_proxies
    app.add_middleware(TrustedForwarded, trusted=trusted)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    install_error_handlers(app)
    app.include_router(_probes(settings.service_name, checks, health_details))
    for router in routers:
        app.include_router(router)
    if settings.metrics_enabled:
        metrics.instrument(app, settings.service_name, edge=edge)
    tracing.instrument_app(app)  # outermost: a span for every request, its answer and its refusals
    app.openapi = truthful_openapi(app)  # type: ignore[method-assign]
    return app


def _instance(settings: Settings) -> Instance:
    host = settings.advertise_host or settings.host
    return Instance(
        name=settings.service_name,
        id=f"{settings.service_name}-{socket.gethostname()}-{settings.port}",
        host=host,
        port=settings.port,
    )


def _probes(
    service: str,
    service_checks: Callable[[Any], Mapping[str, Check]] | None,
    details: Callable[[Request], Awaitable[Mapping[str, Any]]] | None,
) -> APIRouter:
    router = APIRouter(tags=["probes"])

    @router.get("/health", summary="Liveness: the process answers")
    async def health(request: Request) -> dict[str, Any]:
        return {"status": "UP", "service": service, **(await details(request) if details else {})}

    @router.get("/ready", summary="Readiness: every dependency answers", responses={503: {}})
    async def ready(request: Request) -> JSONResponse:
        infra: Infra = request.state.infra
        checks: dict[str, Check] = {
            "bus": infra.bus.ping,
            "cache": infra.cache.ping,
            "discovery": infra.registry.ping,
        }
        if infra.engine is not None:
            engine = infra.engine
            checks["database"] = lambda: db.ping(engine)
        if service_checks is not None:
            checks.update(service_checks(request.state.service))
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "UP"
            except Exception as exc:
                results[name] = f"DOWN: {exc!r}"[:300]
        for consumer, error in infra.bus.down_consumers().items():
            results[f"consumer {consumer}"] = f"DOWN: {error}"[:300]
        up = all(value == "UP" for value in results.values())
        body = {"status": "UP" if up else "DOWN", "service": service, "dependencies": results}
        return JSONResponse(body, status_code=200 if up else 503)

    return router


class RequestContextMiddleware:
    """Accept or mint `X-Request-ID`, expose it to logs and outgoing calls, echo it, log one access line;
    turn an unexpected exception into a JSON 500 that carries the request id.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        tokens = request_id_var.set(request_id), service_var.set(self.service)
        carried = otel_context.attach(tracing.with_request_id(request_id))  # to the workers and consumers
        tracing.name_service(self.service)
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if status:  # the response had begun: nothing left to do but cut it
                raise
            body = {"message": "Internal server error", "code": "InternalError", "requestId": request_id}
            await JSONResponse(body, status_code=500)(scope, receive, send_with_id)
        finally:
            if scope["path"] not in ("/health", "/ready"):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"status": status, "ms": round((time.perf_counter() - started) * 1000, 1)},
                )
            otel_context.detach(carried)
            request_id_var.reset(tokens[0])
            service_var.reset(tokens[1])


def install_error_handlers(app: FastAPI) -> None:
    """Every failure answers JSON `{"message", "code", "details"?}`; bad input is a 400 naming the field."""

    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"Not Found: The path '{request.url.path}' does not exist."
        else:
            message = str(exc.detail)
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        return JSONResponse(
            {"message": message, "code": code}, status_code=exc.status_code, headers=exc.headers
        )


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """Name each offending field (`email`, `items.0.quantity`) the way clients send it."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        where = location[0] if location else "body"
        field = ".".join(location[1:]) or where
        if error.get("type") == "json_invalid":
            return {
                "message": "Malformed JSON body",
                "code": "MalformedJson",
                "details": [
                    {"field": "body", "message": str(error.get("ctx", {}).get("error", error["msg"]))}
                ],
            }
        details.append({"field": field, "location": where, "message": error.get("msg", "invalid")})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return {"message": f"Invalid request: {summary}", "code": "ValidationError", "details": details}


def get_infra(request: Request) -> Infra:
    infra: Infra = request.state.infra
    return infra


def service_state(request: Request, kind: type[S]) -> S:
    """The service's own lifespan state, as the type its app builds: `service_state(request, CartsState)`.
    Another type is a wiring mistake, so it fails loudly instead of answering with the wrong object.
    """
    service = request.state.service
    if not isinstance(service, kind):
        raise RuntimeError(f"this app's lifespan state is {type(service).__name__}, not {kind.__name__}")
    return service


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; the route's service function commits what it means to keep."""
    sessions = get_infra(request).sessions
    if sessions is None:
        raise RuntimeError("this service has no database")
    async with sessions() as session:
        yield session


async def _infra(request: Request) -> Infra:
    """`get_infra` as a dependency: async, so FastAPI calls it in place rather than on a worker thread."""
    return get_infra(request)


InfraDep = Annotated[Infra, Depends(_infra)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_bus(request: Request) -> EventBus:
    return get_infra(request).bus


async def get_cache(request: Request) -> Cache:
    return get_infra(request).cache


BusDep = Annotated[EventBus, Depends(get_bus)]
CacheDep = Annotated[Cache, Depends(get_cache)]


def serve(name: str, create_app: Callable[[Settings], FastAPI]) -> None:
    """Run service `name` (or the gateway) alone on its port until SIGINT/SIGTERM: the body of each
    `python -m <service>` and of `commerce serve`, with the settings of this process's environment.
    """
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    tracing.setup_tracing(name, settings)
    app = create_app(settings.for_service(name))
    uvicorn.run(app, host=settings.host, port=settings.port_of(name), **UVICORN_OPTIONS)


# X-Forwarded-* are read by TrustedForwarded, from the configured peers only; uvicorn would believe any
# from 127.0.0.1. The `server` header would name our server to anyone asking. An idle connection is kept
# longer than the gateway's pool keeps one (30 s; httpx's service clients 5 s): closed first here (uvicorn's
# 5 s), it raced the next request the gateway sent on it, and a POST, never sent twice, was a 502.
KEEP_ALIVE_SECONDS = 75
UVICORN_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "proxy_headers": False,
    "server_header": False,
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
}


def created_or_again(body: BaseModel, created: bool) -> JSONResponse:
    """The answer of an idempotent creation: 201 the first time, 200 with the same body when its
    Idempotency-Key (or natural key) asked for it before."""
    return JSONResponse(body.model_dump(mode="json", by_alias=True), status_code=201 if created else 200)
