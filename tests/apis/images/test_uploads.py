"""Uploads through the images routes: Pillow decides what a file is, what is stored is clean and upright,
and every hostile file is refused with a JSON message and leaves nothing in the storage folder.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.apis.images import files
from tests.apis.images.conftest import Images

FORMATS = [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"), ("GIF", "gif", "image/gif")]
FORMATS.append(("WEBP", "webp", "image/webp"))


@pytest.mark.parametrize(("fmt", "extension", "mimetype"), FORMATS)
async def test_an_image_of_each_format_is_stored_with_its_sizes_and_served(
    images: Images, fmt: str, extension: str, mimetype: str
) -> None:
    response = await images.upload(files.picture(fmt), filename=f"holiday.{extension}", mimetype=mimetype)
    assert response.status_code == 201, response.text
    body = response.json()
    name = body["filename"]
    assert name.endswith(f".{extension}")
    assert body["message"] == "Image uploaded successfully!"
    assert body["imageUrl"] == f"/images/{name}"
    assert (body["mimetype"], body["width"], body["height"]) == (mimetype, 640, 480)
    assert body["sizes"] == {size: f"/images/{name}?size={size}" for size in ("thumb", "medium")}
    served = await images.client.get(f"/{name}")
    assert served.status_code == 200
    assert served.headers["content-type"] == mimetype
    assert len(served.content) == body["size"]
    assert Image.open(io.BytesIO(served.content)).format == fmt
    for size, edge in (("thumb", 200), ("medium", 640)):
        small = await images.client.get(f"/{name}", params={"size": size})
        assert small.headers["content-type"] == "image/webp"
        assert max(Image.open(io.BytesIO(small.content)).size) == edge


async def test_a_png_named_jpg_is_stored_as_the_png_it_is(images: Images) -> None:
    response = await images.upload(files.picture("PNG"), filename="cat.jpg", mimetype="image/jpeg")
    assert response.status_code == 201, response.text
    assert response.json()["mimetype"] == "image/png"
    assert response.json()["filename"].endswith(".png")


async def test_the_same_image_twice_is_stored_once(images: Images) -> None:
    data = files.picture("PNG")
    first = await images.upload(data)
    before = images.stored()
    again = await images.upload(data, filename="other-name.png", as_="admin")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert images.stored() == before
    assert len([name for name in before if not name.startswith(".")]) == 3  # the image and its two sizes


async def test_metadata_is_stripped_and_the_orientation_applied(images: Images) -> None:
    response = await images.upload(files.with_exif(orientation=6))  # "turn 90 degrees clockwise"
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (40, 60)
    served = await images.client.get(f"/{response.json()['filename']}")
    stored = Image.open(io.BytesIO(served.content))
    assert stored.size == (40, 60)
    assert dict(stored.getexif()) == {}
    assert b"Spy Camera" not in served.content
    assert b"Ada Lovelace" not in served.content


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
async def test_an_animation_keeps_its_frames(images: Images, fmt: str) -> None:
    response = await images.upload(files.animated_gif(12, fmt=fmt), mimetype="image/gif")
    assert response.status_code == 201, response.text
    served = await images.client.get(f"/{response.json()['filename']}")
    assert getattr(Image.open(io.BytesIO(served.content)), "n_frames", 1) == 12


HOSTILE = [
    *files.HOSTILE,
    pytest.param(files.oversized(), "big.png", "image/png", 413, id="oversized-body"),
    pytest.param(files.SVG, "logo.svg", "image/svg+xml", 400, id="svg"),
]


@pytest.mark.parametrize(("data", "filename", "mimetype", "status"), HOSTILE)
async def test_a_hostile_file_is_refused_and_nothing_is_stored(
    images: Images, data: bytes, filename: str, mimetype: str, status: int
) -> None:
    response = await images.upload(data, filename=filename, mimetype=mimetype)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert images.stored() == []


async def test_a_path_traversal_name_is_ignored_and_writes_nowhere_else(images: Images) -> None:
    response = await images.upload(files.picture("PNG"), filename="../../../../tmp/evil.png")
    assert response.status_code == 201, response.text
    assert ".." not in response.json()["filename"]
    assert not (images.folder.parent / "evil.png").exists()
    assert all("/" not in name for name in images.stored())
    for path in ("/..%2F..%2Fetc%2Fpasswd", "/..%2Fimages.db", "/.tmp", "/%2e%2e"):
        refused = await images.client.get(path)
        assert refused.status_code == 404, path
        assert refused.json()["message"]


async def test_an_upload_needs_a_signed_in_caller_and_the_image_field(images: Images) -> None:
    data = files.picture("PNG")
    anonymous = await images.client.post("/upload", files={"imageFile": ("a.png", data, "image/png")})
    assert anonymous.status_code == 401
    wrong_field = await images.client.post(
        "/upload", files={"picture": ("a.png", data, "image/png")}, headers=images.tokens.headers("customer")
    )
    assert wrong_field.status_code == 400
    assert "imageFile" in wrong_field.json()["message"]
    not_multipart = await images.client.post(
        "/upload", content=data, headers={**images.tokens.headers("customer"), "content-type": "image/png"}
    )
    assert not_multipart.status_code == 400
    assert images.stored() == []


async def test_listing_and_deleting_need_staff(images: Images) -> None:
    for method, path in (("GET", "/"), ("DELETE", f"/{'0' * 32}.png")):
        assert (await images.client.request(method, path)).status_code == 401
        refused = await images.client.request(method, path, headers=images.tokens.headers("customer"))
        assert refused.status_code == 403
