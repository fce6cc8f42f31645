"""Deleting an image: refused while a product shows it, and safe against an attachment at the same moment
(the image is hidden before the products service is asked, so a racing existence check sees it gone).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from apis.images import reads, service
from apis.images.errors import ImageInUse, ImageNotFound
from contracts.products import ProductsClient
from kit.errors import Unavailable
from kit.storage import BlobStore, open_store
from tests.apis.images import files


class FakeCatalog(ProductsClient):
    """The products service's answers about image uses; `during` runs while it is being asked."""

    def __init__(self, store: BlobStore, users: Iterable[str] = (), *, down: bool = False) -> None:
        self.store, self.users, self.down = store, list(users), down
        self.seen_during: list[bool] = []

    async def image_uses(self, names: Iterable[str]) -> dict[str, list[str]]:
        for name in names:  # what a racing attachment's existence check would see now
            self.seen_during.append(await self.store.stat(name) is not None)
        if self.down:
            raise Unavailable("products is down")
        return {name: self.users for name in names if self.users}


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return open_store(str(tmp_path / "images"))


async def _stored(store: BlobStore) -> str:
    processed, _ = await service.upload(store, files.picture("PNG", (300, 300)), max_bytes=5 << 20)
    return processed.name


async def test_an_unused_image_goes_with_its_sizes_and_is_hidden_while_products_are_asked(
    store: BlobStore,
) -> None:
    name = await _stored(store)
    catalog = FakeCatalog(store)
    await service.delete(store, catalog, name)
    assert catalog.seen_during == [False]
    assert await store.list() == []
    with pytest.raises(ImageNotFound):
        await reads.served(store, name, "thumb")


async def test_an_image_a_product_shows_is_refused_and_kept(store: BlobStore) -> None:
    name = await _stored(store)
    before = await store.list()
    with pytest.raises(ImageInUse) as refused:
        await service.delete(store, FakeCatalog(store, ["product-1"]), name)
    assert refused.value.status_code == 409
    assert refused.value.details == [{"productId": "product-1"}]
    assert await store.list() == before


async def test_an_image_stays_when_the_products_service_cannot_answer(store: BlobStore) -> None:
    name = await _stored(store)
    before = await store.list()
    with pytest.raises(Unavailable):
        await service.delete(store, FakeCatalog(store, down=True), name)
    assert await store.list() == before


async def test_an_image_a_crash_left_hidden_mid_deletion_is_put_back(store: BlobStore) -> None:
    name = await _stored(store)
    before = await store.list()
    await store.rename(name, f"{name}.deleting")
    assert await service.restore_interrupted(store) == 1
    assert await store.list() == before


async def test_an_unknown_or_malformed_name_is_not_found(store: BlobStore) -> None:
    for name in (f"{'b' * 32}.png", "../x.png", ".tmp"):
        with pytest.raises(ImageNotFound):
            await service.delete(store, FakeCatalog(store), name)


async def test_a_reupload_puts_back_sizes_that_went_missing(store: BlobStore) -> None:
    name = await _stored(store)
    await store.delete(service.size_key(name, "thumb"))
    await service.upload(store, files.picture("PNG", (300, 300)), max_bytes=5 << 20)
    assert await store.stat(service.size_key(name, "thumb")) is not None
