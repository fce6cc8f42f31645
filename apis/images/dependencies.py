"""What the images routes take from a request: the service's lifespan state (the store, the products
service's client, the public origin of image URLs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from contracts.products import ProductsClient
from kit.storage import BlobStore
from kit.web import service_state


@dataclass(frozen=True)
class ImagesState:
    """Opened once per app by `app.py`."""

    store: BlobStore
    catalog: ProductsClient  # who uses an image (service credentials)
    public_url: str
    max_upload_bytes: int  # of the file (`COMMERCE_MAX_UPLOAD_BYTES`)


def get_images(request: Request) -> ImagesState:
    return service_state(request, ImagesState)


ImagesDep = Annotated[ImagesState, Depends(get_images)]
