"""Serving an image: a strong ETag, immutable caching, 304 on a repeat, byte ranges."""

from __future__ import annotations

from tests.apis.images import files
from tests.apis.images.conftest import Images


async def _stored(images: Images) -> tuple[str, bytes]:
    response = await images.upload(files.picture("JPEG"))
    assert response.status_code == 201, response.text
    name = response.json()["filename"]
    return name, (await images.client.get(f"/{name}")).content


async def test_an_image_is_cached_for_good_and_revalidated_with_304(images: Images) -> None:
    name, _ = await _stored(images)
    first = await images.client.get(f"/{name}")
    etag = first.headers["etag"]
    assert etag.startswith('"')  # strong: no W/
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert first.headers["x-content-type-options"] == "nosniff"
    repeat = await images.client.get(f"/{name}", headers={"If-None-Match": etag})
    assert repeat.status_code == 304
    assert repeat.content == b""
    assert repeat.headers["etag"] == etag
    thumb = await images.client.get(f"/{name}", params={"size": "thumb"})
    assert thumb.headers["etag"] != etag
    other = await images.client.get(f"/{name}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_byte_ranges_are_served(images: Images) -> None:
    name, whole = await _stored(images)
    length = len(whole)
    cases = {"bytes=0-99": (0, 99), "bytes=100-": (100, length - 1), "bytes=-50": (length - 50, length - 1)}
    for header, (first, last) in cases.items():
        part = await images.client.get(f"/{name}", headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == whole[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{length}"
    past = await images.client.get(f"/{name}", headers={"Range": f"bytes={length}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{length}"
    stale = await images.client.get(f"/{name}", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (stale.status_code, stale.content) == (200, whole)
    several = await images.client.get(f"/{name}", headers={"Range": "bytes=0-1,5-6"})
    assert (several.status_code, several.content) == (200, whole)


async def test_head_answers_the_headers_alone(images: Images) -> None:
    name, whole = await _stored(images)
    head = await images.client.head(f"/{name}")
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(whole)
    assert head.content == b""


async def test_an_unknown_image_or_size_is_a_json_404(images: Images) -> None:
    missing = await images.client.get(f"/{'a' * 32}.png")
    assert missing.status_code == 404
    assert "not found" in missing.json()["message"]
    name, _ = await _stored(images)
    bad_size = await images.client.get(f"/{name}", params={"size": "huge"})
    assert bad_size.status_code == 400
