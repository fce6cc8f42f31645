"""Images service: upload, validation, resizing and serving."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from apis.images import service
from apis.images.dependencies import ImagesState
from apis.images.routes import router
from contracts import images, products
from kit.auth.services import service_tokens
from kit.infra import Infra
from kit.settings import Settings
from kit.storage import open_store
from kit.web import create_service


@contextlib.asynccontextmanager
async def _state(infra: Infra) -> AsyncIterator[ImagesState]:
    http = infra.client(products.SERVICE, token=service_tokens(infra, images.SERVICE))
    store = open_store(infra.settings.images_store)
    await service.restore_interrupted(store)
    yield ImagesState(
        store=store,
        catalog=products.ProductsClient(http),
        public_url=infra.settings.images_public_url,
        max_upload_bytes=infra.settings.max_upload_bytes,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service(images.SERVICE)
    return create_service(
        settings,
        title="Images service",
        routers=[router],
        state=_state,
        body_limits={images.UPLOAD_PATH: images.upload_body_limit(settings.max_upload_bytes)},
    )
