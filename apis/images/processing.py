"""What an upload is, decided by decoding it with Pillow (never by its declared type or extension), and
what is stored of it: the image re-encoded without its metadata, upright, and its WebP sizes. Pure CPU
work, no I/O: the service runs it in a thread.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from apis.images.errors import ImageTooLarge, NotAnImage
from contracts.images import SIZES

# Decoded, a pixel weighs 3-4 bytes and is copied a few times: these bound one upload to about 300 MB.
MAX_PIXELS = 25_000_000  # one frame, e.g. a 6000 x 4000 camera picture
MAX_FRAMES = 200
MAX_TOTAL_PIXELS = 50_000_000  # all the frames of an animation together

# Pillow's format -> (our format, extension, content type); MPO is how Pillow sees many cameras' JPEGs.
FORMATS: dict[str, tuple[str, str, str]] = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "MPO": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
    "GIF": ("GIF", "gif", "image/gif"),
    "WEBP": ("WEBP", "webp", "image/webp"),
}
CONTENT_TYPES = {extension: content_type for _, extension, content_type in FORMATS.values()}
# What of `info` is the picture itself rather than metadata (EXIF, XMP, comments, text chunks are dropped).
_PICTURE_INFO = ("transparency", "duration", "loop", "background", "icc_profile")


@dataclass(frozen=True)
class Processed:
    name: str  # content hash of the upload + extension
    mimetype: str
    width: int
    height: int
    original: bytes
    sizes: dict[str, bytes]  # size name -> WebP


def content_name(data: bytes, extension: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:32]}.{extension}"


def process(data: bytes, *, max_bytes: int) -> Processed:
    """Decode `data` whole and produce what is stored; NotAnImage or ImageTooLarge when it cannot be."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The file is larger than {max_bytes:,} bytes.")
    image = _open(data)
    target, extension, mimetype = FORMATS[str(image.format)]
    upright = _decode_frames(image)
    original = _encode(upright, target, loop=int(image.info.get("loop", 0)))
    first = upright[0]
    return Processed(
        name=content_name(data, extension),
        mimetype=mimetype,
        width=first.width,
        height=first.height,
        original=original,
        sizes={size: _resized(first, edge) for size, edge in SIZES.items()},
    )


def _open(data: bytes) -> Image.Image:
    try:  # Pillow refuses outright past twice its own limit; MAX_PIXELS, far below, refuses the rest
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "GIF", "WEBP"])
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"The image declares too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("the content is not a JPEG, PNG, GIF or WebP image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(f"the image cannot be read ({exc})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; at most {MAX_PIXELS:,} are accepted.")
    if width < 1 or height < 1:
        raise NotAnImage("the image has no pixels")
    return image


def _decode_frames(image: Image.Image) -> list[Image.Image]:
    """Every frame decoded (a truncated or corrupt file fails here), within the frame and pixel limits,
    turned upright by its EXIF orientation and stripped of its metadata.
    """
    frames: list[Image.Image] = []
    try:
        while True:
            if len(frames) == MAX_FRAMES:
                raise ImageTooLarge(f"The image has more than {MAX_FRAMES} frames.")
            if (len(frames) + 1) * image.width * image.height > MAX_TOTAL_PIXELS:
                raise ImageTooLarge(f"The animation has more than {MAX_TOTAL_PIXELS:,} pixels in all.")
            image.seek(len(frames))
            image.load()
            frame = ImageOps.exif_transpose(image.copy())
            frame.info = {k: v for k, v in image.info.items() if k in _PICTURE_INFO}
            frames.append(frame)
    except EOFError:
        return frames
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(f"the image is truncated or corrupt ({exc})") from exc


def _encode(frames: list[Image.Image], target: str, *, loop: int) -> bytes:
    out = io.BytesIO()
    first = frames[0]
    options: dict[str, object] = {}
    if "icc_profile" in first.info:
        options["icc_profile"] = first.info["icc_profile"]
    if target == "JPEG":
        first = first if first.mode in ("RGB", "L", "CMYK") else first.convert("RGB")
        first.save(out, "JPEG", quality=90, **options)
    elif len(frames) > 1:
        durations = [int(f.info.get("duration", 100) or 100) for f in frames]
        first.save(
            out,
            target,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=loop,
            **options,
        )
    else:
        first.save(out, target, **options)
    return out.getvalue()


def _resized(frame: Image.Image, edge: int) -> bytes:
    small = frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    small.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80)
    return out.getvalue()
