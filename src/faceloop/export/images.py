"""Small facts about image bytes, read from their first bytes without decoding them."""

from __future__ import annotations

import io
from typing import Literal

import pillow_heif
from PIL import Image, UnidentifiedImageError

# Photos from iPhones are HEIC; faceloop.vision.decode registers the same opener.
pillow_heif.register_heif_opener()

EXTENSIONS = {
    "jpeg": ".jpg",
    "png": ".png",
    "gif": ".gif",
    "webp": ".webp",
    "heic": ".heic",
    "avif": ".avif",
    "bmp": ".bmp",
    "tiff": ".tif",
}

# Crops faceloop makes are 112 or 150 px; other tools make 64 to 299 px crops. A photo is
# rarely that small, and a crop is square or close to it.
CROP_MAX_SIDE = 320
CROP_MAX_ASPECT = 1.3


def sniff_format(data: bytes) -> str:
    """The container format from the magic number; "unknown" when it is none we store."""
    head = bytes(data[:32])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"):
            return "heic"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return "unknown"


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header; raises ValueError for bytes that are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"not an image: {error}") from error


def guess_image_kind(data: bytes) -> Literal["crop", "photo"]:
    """Whether imported bytes look like a face crop or a whole photo, by size and shape.

    Only a guess, for a folder whose owner did not say: small and nearly square is a crop.
    The caller decides; a photo is run through face detection, a crop is taken as one face.
    """
    width, height = image_size(data)
    aspect = max(width, height) / max(1, min(width, height))
    if max(width, height) <= CROP_MAX_SIDE and aspect <= CROP_MAX_ASPECT:
        return "crop"
    return "photo"
