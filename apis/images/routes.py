"""The images API under `/images` (the gateway strips the prefix): upload, serve, list, delete.

Who may: any signed-in user uploads (a profile picture, a return photo, a product image); serving is
public; listing and deleting are for staff holding `update:product`; the existence check is internal.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile

from apis.images import reads, service
from apis.images.dependencies import ImagesDep
from apis.images.errors import ImageNotFound, NoImageFile
from apis.images.schemas import ImagePage, Uploaded
from apis.images.serving import CACHE_CONTROL, byte_range, not_modified
from contracts import scopes
from contracts.images import IMAGE_STATUS_PATH, UPLOAD_FIELD, UPLOAD_PATH, image_url
from kit.auth.callers import CurrentUser, require_permission, require_scope
from kit.auth.principal import Principal
from kit.errors import BadRequest
from kit.schemas import Limit, Page

router = APIRouter(tags=["images"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [UPLOAD_FIELD],
                    "properties": {UPLOAD_FIELD: {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
Size = Annotated[Literal["thumb", "medium"] | None, Query(description="A WebP size instead of the image")]


async def _upload_bytes(request: Request, max_bytes: int) -> bytes:
    """The file of the `imageFile` part (at most one more byte than allowed, to tell it is too large);
    the body's size is bounded before this by the service's BodyGuard (`upload_body_limit`).
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("Send the image as multipart/form-data.", code="NotMultipart")
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get(UPLOAD_FIELD)
        if not isinstance(file, UploadFile):
            raise NoImageFile()
        return await file.read(max_bytes + 1)


@router.post(
    UPLOAD_PATH,
    status_code=201,
    response_model=Uploaded,
    summary="Upload an image (201 new, 200 already stored); any signed-in user",
    openapi_extra=_UPLOAD_BODY,
    responses={400: {}, 413: {}},
)
async def upload(request: Request, response: Response, images: ImagesDep, _user: CurrentUser) -> Uploaded:
    data = await _upload_bytes(request, images.max_upload_bytes)
    processed, created = await service.upload(images.store, data, max_bytes=images.max_upload_bytes)
    response.status_code = 201 if created else 200
    base = images.public_url
    return Uploaded(
        message="Image uploaded successfully!",
        filename=processed.name,
        image_url=image_url(base, processed.name),
        mimetype=processed.mimetype,
        size=len(processed.original),
        width=processed.width,
        height=processed.height,
        sizes={size: image_url(base, processed.name, size) for size in processed.sizes},
    )


@router.get(
    "/",
    response_model=ImagePage,
    summary="The stored images with their sizes and the products using them",
    dependencies=[require_permission("update:product")],
)
async def list_images(
    images: ImagesDep,
    page: Page = 1,  # bounded, as every listing's: 10**100 was answered as a page
    limit: Limit = 50,
) -> ImagePage:
    return await reads.listing(images.store, images.catalog, images.public_url, page=page, limit=limit)


@router.get(IMAGE_STATUS_PATH, summary="Whether an image is stored (404 otherwise)")
async def image_status(
    name: str, images: ImagesDep, _caller: Annotated[Principal, require_scope(scopes.CHECK_IMAGES)]
) -> dict[str, str]:
    await reads.served(images.store, name, None)
    return {"filename": name}


@router.api_route(
    "/{name}", methods=["GET", "HEAD"], summary="An image or one of its sizes (ETag, 304, Range)"
)
async def serve(request: Request, name: str, images: ImagesDep, size: Size = None) -> Response:
    found, length = await reads.served(images.store, name, size)
    headers = {
        "ETag": found.etag,
        "Cache-Control": CACHE_CONTROL,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if not_modified(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    span = byte_range(request.headers.get("range"), request.headers.get("if-range"), found.etag, length)
    data = await images.store.get(found.key)
    if data is None:  # deleted between the two reads
        raise ImageNotFound(name)
    if span is None:
        return Response(data, media_type=found.content_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return Response(data[first : last + 1], status_code=206, media_type=found.content_type, headers=headers)


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete an image and its sizes (409 while a product shows it)",
    dependencies=[require_permission("update:product")],
    responses={404: {}, 409: {}},
)
async def delete_image(name: str, images: ImagesDep) -> Response:
    await service.delete(images.store, images.catalog, name)
    return Response(status_code=204)
