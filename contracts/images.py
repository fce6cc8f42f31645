"""The images service's seam: where images are served, what their names look like, the limits of an
upload, and the typed client the products service checks an attached image with (service credentials).

An image's name is the content hash of the uploaded bytes plus the extension of the format Pillow found
(`<32 hex>.jpg|png|gif|webp`), so it names one content for ever: served at `/images/<name>` through the
gateway, its sizes at `/images/<name>?size=thumb|medium` (WebP).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from kit.clients import ServiceClient
from kit.errors import NotFound

SERVICE = "images"
PUBLIC_PREFIX = "/images"  # the gateway's prefix for the service (gateway/routes.py)
UPLOAD_PATH = "/upload"  # POST, multipart (PUBLIC_PREFIX + UPLOAD_PATH at the gateway)
UPLOAD_FIELD = "imageFile"  # the seed's multipart field
MULTIPART_ALLOWANCE = 64 * 1024  # what an upload's body may carry besides the file (parts, headers)
SIZES: dict[str, int] = {"thumb": 200, "medium": 800}  # longest edge in pixels

NAME_PATTERN = re.compile(r"^[0-9a-f]{32}\.(?:jpg|png|gif|webp)$")

# Routes other services call (templates as the routes declare them).
IMAGE_STATUS_PATH = "/internal/images/{name}"


def upload_body_limit(max_upload_bytes: int) -> int:
    """The body limit of an upload (gateway and service alike) for a file of `max_upload_bytes`
    (`COMMERCE_MAX_UPLOAD_BYTES`, the seed's 5 MB): the file is what is limited, not its envelope.
    """
    return max_upload_bytes + MULTIPART_ALLOWANCE


def image_url(public_url: str, name: str, size: str | None = None) -> str:
    """Where clients fetch an image (or one of its sizes): `<public origin>/images/<name>[?size=...]`."""
    url = f"{public_url.rstrip('/')}{PUBLIC_PREFIX}/{name}"
    return f"{url}?size={size}" if size else url


def image_name(url: str, public_url: str) -> str | None:
    """The name of the image of ours that `url` points to (relative, or at the public origin; any `?size`),
    None for another site's image.
    """
    parts, ours = urlsplit(url), urlsplit(public_url)
    if parts.netloc and (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
        return None
    head, _, name = parts.path.rpartition("/")
    return name if head == ours.path.rstrip("/") + PUBLIC_PREFIX and NAME_PATTERN.match(name) else None


def sized(url: str, size: str) -> str:
    """The URL of one size of the image of ours at `url`."""
    return f"{url.split('?', 1)[0]}?size={size}"


class ImagesClient:
    """The images service as the products service calls it."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def exists(self, name: str) -> bool:
        """Whether the image is stored (and not being deleted)."""
        try:
            await self._http.get(IMAGE_STATUS_PATH.format(name=name))
        except NotFound:
            return False
        return True
