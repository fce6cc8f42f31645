"""The queries that answer the images API's GETs: one stored image (or size) to serve, and the listing
with sizes and the products using each image.
"""

from __future__ import annotations

from dataclasses import dataclass

from apis.images.errors import ImageNotFound
from apis.images.processing import CONTENT_TYPES
from apis.images.schemas import ImagePage, StoredImage
from apis.images.service import check_name, size_key
from contracts.images import NAME_PATTERN, SIZES, image_url
from contracts.products import ProductsClient
from kit.schemas import Pagination
from kit.storage import BlobStore


@dataclass(frozen=True)
class Served:
    key: str
    content_type: str
    etag: str  # strong: a name is one content for ever, and a size is derived from it


async def served(store: BlobStore, name: str, size: str | None) -> tuple[Served, int]:
    """What `GET /{name}[?size=]` serves and its length; ImageNotFound when it is not stored."""
    check_name(name)
    key = size_key(name, size) if size else name
    stem, extension = name.rsplit(".", 1)
    found = await store.stat(key)
    if found is None or (size and await store.stat(name) is None):  # a size outlives no image
        raise ImageNotFound(name)
    content_type = "image/webp" if size else CONTENT_TYPES[extension]
    return Served(key=key, content_type=content_type, etag=f'"{stem}-{size or extension}"'), found.size


async def listing(
    store: BlobStore, catalog: ProductsClient, public_url: str, *, page: int, limit: int
) -> ImagePage:
    """A page of the stored images in name order, with their sizes and the products showing them."""
    blobs = {blob.key: blob.size for blob in await store.list()}
    names = sorted(key for key in blobs if NAME_PATTERN.match(key))
    shown = names[(page - 1) * limit : page * limit]
    users = await catalog.image_uses(shown)
    data = [
        StoredImage(
            filename=name,
            image_url=image_url(public_url, name),
            mimetype=CONTENT_TYPES[name.rsplit(".", 1)[1]],
            size=blobs[name],
            sizes={s: blobs[size_key(name, s)] for s in SIZES if size_key(name, s) in blobs},
            product_ids=users.get(name, []),
        )
        for name in shown
    ]
    return ImagePage(data=data, pagination=Pagination.of(len(names), page, limit))
