"""The images service's writes over the store: uploads (idempotent, by content) and deletions (refused
while a product shows the image).

Deleting is made safe against a product attaching the image at the same moment by ordering the two sides:
the deletion first hides the image (renamed, so the products service's existence check fails from then
on), then asks the products service who uses it, which answers only after every attachment in flight has
committed (both take the same per-name lock row there). Either the attachment sees the image gone, or the
deletion sees the attachment and puts the image back.
"""

from __future__ import annotations

import asyncio

from apis.images import processing
from apis.images.errors import ImageInUse, ImageNotFound
from apis.images.processing import Processed
from contracts.images import NAME_PATTERN, SIZES
from contracts.products import ProductsClient
from kit.storage import BlobStore


def size_key(name: str, size: str) -> str:
    return f"{name.rsplit('.', 1)[0]}.{size}.webp"


def _hidden(name: str) -> str:
    return f"{name}.deleting"  # what `restore_interrupted` looks for


async def upload(store: BlobStore, data: bytes, *, max_bytes: int) -> tuple[Processed, bool]:
    """Store an upload and its sizes; True when it is new. The sizes are written before the image, so an
    image that can be seen always has its sizes; a re-upload writes only the sizes that went missing.
    """
    processed = await asyncio.to_thread(processing.process, data, max_bytes=max_bytes)
    known = await store.stat(processed.name) is not None
    for size, blob in processed.sizes.items():
        key = size_key(processed.name, size)
        if not known or await store.stat(key) is None:
            await store.put(key, blob)
    if not known:
        await store.put(processed.name, processed.original)
    return processed, not known


def check_name(name: str) -> str:
    """Only names the service gives out are looked up: anything else (`../etc/passwd`) is unknown."""
    if not NAME_PATTERN.match(name):
        raise ImageNotFound(name)
    return name


async def restore_interrupted(store: BlobStore) -> int:
    """Put back the images a crash left hidden mid-deletion (never answered 204: the caller retries)."""
    hidden = [blob.key for blob in await store.list() if blob.key.endswith(".deleting")]
    for key in hidden:
        await store.rename(key, key.removesuffix(".deleting"))
    return len(hidden)


async def delete(store: BlobStore, catalog: ProductsClient, name: str) -> None:
    """Remove an image and its sizes; ImageInUse (409) while a live product shows it."""
    check_name(name)
    if not await store.rename(name, _hidden(name)):
        raise ImageNotFound(name)
    try:
        users = (await catalog.image_uses([name])).get(name, [])
    except BaseException:
        await store.rename(_hidden(name), name)
        raise
    if users:
        await store.rename(_hidden(name), name)
        raise ImageInUse(name, users)
    for size in SIZES:
        await store.delete(size_key(name, size))
    await store.delete(_hidden(name))
