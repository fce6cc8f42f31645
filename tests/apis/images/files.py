"""Real image files made with Pillow for the tests, good and hostile."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import pytest
from PIL import Image

from kit.settings import Settings


def picture(fmt: str, size: tuple[int, int] = (640, 480), **options: Any) -> bytes:
    """A noisy picture (so that it does not compress to nothing) in `fmt`."""
    rng = random.Random(f"{fmt}{size}")
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def with_exif(orientation: int) -> bytes:
    """A 60x40 JPEG whose EXIF says how to turn it and who took it (both must go)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Spy Camera Co"
    exif[0x013B] = "Ada Lovelace"  # Artist
    return picture("JPEG", (60, 40), exif=exif.tobytes())


def animated_gif(frames: int, size: tuple[int, int] = (8, 8), fmt: str = "GIF") -> bytes:
    """Frames alternating black and white (so that Pillow keeps every one)."""
    images = [Image.new("RGB", size, "white" if i % 2 else "black") for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, fmt, save_all=True, append_images=images[1:], duration=20, loop=0)
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG of a few hundred bytes declaring `width` x `height` pixels of one bit."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width // 8 + 1), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    whole = picture("JPEG", (300, 200))
    return whole[: len(whole) // 2]


def oversized() -> bytes:
    """A genuine PNG past the 5 MB limit (incompressible pixels)."""
    data = picture("PNG", (1400, 1400))
    assert len(data) > Settings.model_fields["max_upload_bytes"].default
    return data


def just_over_the_limit() -> bytes:
    """A file one kilobyte past the limit: its body still passes the gateway's (the file's limit plus the
    multipart envelope), so the images service's own check answers.
    """
    return oversized()[: Settings.model_fields["max_upload_bytes"].default + 1024]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
TEXT = b"just some words, not a picture at all\n"


# Each with the name and type its sender declares, and the status it must get: (data, name, type, status).
HOSTILE = [
    pytest.param(TEXT, "notes.png", "image/png", 400, id="text-named-png"),
    pytest.param(png_bomb(), "bomb.png", "image/png", 413, id="decompression-bomb"),
    pytest.param(just_over_the_limit(), "big.png", "image/png", 413, id="over-the-limit"),
    pytest.param(animated_gif(3000), "frames.gif", "image/gif", 413, id="3000-frames"),
    pytest.param(HTML, "../../page.jpg", "image/jpeg", 400, id="html-as-jpeg-with-traversal-name"),
    pytest.param(SVG, "logo.png", "image/png", 400, id="svg-as-png"),
    pytest.param(truncated_jpeg(), "cut.jpg", "image/jpeg", 400, id="truncated-jpeg"),
]
