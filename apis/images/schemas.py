"""What the images routes answer, in the seed's camelCase (`imageUrl`)."""

from __future__ import annotations

from kit.schemas import Pagination, Schema


class Uploaded(Schema):
    """The seed's answer (`message, filename, imageUrl, mimetype, size`) plus the pixels and the sizes."""

    message: str
    filename: str
    image_url: str
    mimetype: str
    size: int  # bytes of the stored image (re-encoded without metadata)
    width: int
    height: int
    sizes: dict[str, str]  # size name -> URL


class StoredImage(Schema):
    filename: str
    image_url: str
    mimetype: str
    size: int
    sizes: dict[str, int]  # size name -> bytes, for the sizes present
    product_ids: list[str]  # the live products showing it


class ImagePage(Schema):
    data: list[StoredImage]
    pagination: Pagination
