"""What the images service refuses, as the kit's error family."""

from kit.errors import BadRequest, Conflict, NotFound, PayloadTooLarge


class ImageTooLarge(PayloadTooLarge):
    """Over a limit on bytes, pixels or frames: 413, and nothing is stored."""

    default_code = "ImageTooLarge"


class NotAnImage(BadRequest):
    default_code = "InvalidImage"

    def __init__(self, why: str) -> None:
        super().__init__(
            f"Invalid image: {why}. Only JPEG, PNG, GIF and WebP images are accepted.",
            details=[{"field": "imageFile", "message": why}],
        )


class NoImageFile(BadRequest):
    default_code = "NoImageFile"

    def __init__(self) -> None:
        super().__init__(
            'No image file provided in the "imageFile" form field.', details=[{"field": "imageFile"}]
        )


class ImageNotFound(NotFound):
    default_code = "ImageNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"Image {name} not found.")


class ImageInUse(Conflict):
    default_code = "ImageInUse"

    def __init__(self, name: str, product_ids: list[str]) -> None:
        super().__init__(
            f"Image {name} is used by {len(product_ids)} product(s); remove it from them first.",
            details=[{"productId": product_id} for product_id in product_ids],
        )
