"""Through the gateway, on the embedded platform and on real servers (PostgreSQL databases, Elasticsearch):
upload, fetch (304 on a repeat, ranges), use the URL as a product image, see it in the product and in
search, refuse to delete it while it is shown, delete it; every hostile file is refused and leaves nothing
in the storage folder.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.apis.images import files
from tests.e2e.conftest import EMBEDDED_AND_REAL, Shop
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), EMBEDDED_AND_REAL]


def stored(shop: Shop) -> list[str]:
    folder = Path(shop.settings.images_store)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def upload(
    shop: Shop, data: bytes, headers: dict[str, str], name: str = "a.jpg", mime: str = "image/jpeg"
) -> Any:
    return await shop.http.post("/images/upload", files={"imageFile": (name, data, mime)}, headers=headers)


async def test_an_image_goes_from_upload_to_product_to_search_and_is_deleted_once_unused(shop: Shop) -> None:
    customer, _ = await shop.customer()
    uploaded = await upload(shop, files.picture("JPEG", (900, 600)), customer)
    assert uploaded.status_code == 201, uploaded.text
    image = uploaded.json()
    url, name = image["imageUrl"], image["filename"]
    assert url == f"/images/{name}"

    served = await shop.http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = await shop.http.get(url, headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    part = await shop.http.get(url, headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, served.content[10:20])
    thumb = await shop.http.get(image["sizes"]["thumb"])
    assert thumb.headers["content-type"] == "image/webp"

    word = "lumin" + uuid.uuid4().hex[:8]
    body = {
        "sku": f"SKU-{word.upper()}",
        "name": {"en": f"{word} lamp"},
        "variants": [{"attributes": {"Color": "Red"}, "price": "12.00", "initialStockQuantity": 3}],
        "images": [{"imageUrl": url, "isPrimary": True}],
    }
    created = await shop.http.post("/products", json=body, headers=shop.admin)
    assert created.status_code == 201, created.text
    product = created.json()
    product = product.get("data", product)
    assert product["images"][0]["thumbnailUrl"] == f"{url}?size=thumb"

    async def in_search() -> bool:
        hits = (await shop.http.get("/search/products", params={"q": word})).json()["data"]
        return [hit.get("thumbnailUrl") for hit in hits] == [f"{url}?size=thumb"]

    await eventually(in_search, within=60, interval=0.2)

    listed = await shop.http.get("/images", headers=shop.admin)
    assert listed.status_code == 200, listed.text
    [entry] = [e for e in listed.json()["data"] if e["filename"] == name]
    assert entry["productIds"] == [product["id"]]
    assert set(entry["sizes"]) == {"thumb", "medium"}

    assert (await shop.http.delete(f"/images/{name}", headers=customer)).status_code == 403
    refused = await shop.http.delete(f"/images/{name}", headers=shop.admin)
    assert refused.status_code == 409, refused.text
    assert refused.json()["details"] == [{"productId": product["id"]}]
    assert (await shop.http.get(url)).status_code == 200

    detach = await shop.http.request(
        "DELETE",
        f"/products/{product['id']}/images",
        json={"imageIds": [product["images"][0]["id"]]},
        headers=shop.admin,
    )
    assert detach.status_code == 200, detach.text
    deleted = await shop.http.delete(f"/images/{name}", headers=shop.admin)
    assert deleted.status_code == 204, deleted.text
    assert (await shop.http.get(url)).status_code == 404
    assert (await shop.http.get(image["sizes"]["thumb"])).status_code == 404
    assert not [f for f in stored(shop) if f.startswith(name.split(".")[0])]


async def test_a_product_cannot_show_an_image_of_ours_that_is_not_stored(shop: Shop) -> None:
    missing = f"/images/{'c' * 32}.png"
    body = {
        "sku": f"SKU-{uuid.uuid4().hex[:10].upper()}",
        "name": {"en": "Ghost"},
        "variants": [{"attributes": {"Color": "Red"}, "price": "1.00"}],
        "images": [{"imageUrl": missing}],
    }
    refused = await shop.http.post("/products", json=body, headers=shop.admin)
    assert refused.status_code == 400, refused.text
    assert missing in refused.json()["message"]
    product_id, _ = await shop.product()
    added = await shop.http.post(
        f"/products/{product_id}/images", json=[{"imageUrl": missing}], headers=shop.admin
    )
    assert added.status_code == 400, added.text


async def test_an_upload_of_almost_5_mb_passes_the_gateway(shop: Shop) -> None:
    customer, _ = await shop.customer()
    data = files.picture("PNG", (1250, 1250))
    response = await upload(shop, data, customer, "big.png", "image/png")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("data", "filename", "mimetype", "status"), files.HOSTILE)
async def test_a_hostile_file_is_refused_through_the_gateway_and_leaves_nothing(
    shop: Shop, data: bytes, filename: str, mimetype: str, status: int
) -> None:
    customer, _ = await shop.customer()
    before = stored(shop)
    response = await upload(shop, data, customer, filename, mimetype)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert stored(shop) == before
