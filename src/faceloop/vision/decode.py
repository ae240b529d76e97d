"""Turn the bytes of a photo into upright 8-bit RGB pixels, or say clearly why not.

Photos arrive from phones and the web in every format and state: HEIC from iPhones, CMYK JPEGs,
16-bit TIFFs, transparent PNGs, truncated downloads, HTML error pages saved as .jpg, and now and
then a decompression bomb. Everything faceloop knows about a bad file is in the message of
`UnreadableImage`, which ends up in the import report.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()
# faceloop checks the pixel count itself against a setting, before anything is decoded.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

MIN_SIDE = 16
MAX_ASPECT = 50


class UnreadableImage(Exception):
    """A photo that cannot be used; the message says why in words a user understands."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image
    format: str

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def decode(data: bytes, max_pixels: int = 50_000_000) -> DecodedImage:
    """Decode the first frame, apply the EXIF orientation and convert to 8-bit RGB."""
    if not data:
        raise UnreadableImage("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            fmt = (image.format or "unknown").lower()
            _check_size(image.width, image.height, max_pixels)
            image.seek(0)
            image.load()
    except UnreadableImage:
        raise
    except UnidentifiedImageError:
        raise UnreadableImage(not_an_image(data)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise UnreadableImage(f"truncated or corrupt {_fmt_name(data)}: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"refused as a decompression bomb: {exc}") from None
    except MemoryError:
        raise UnreadableImage("too large to decode in memory") from None
    return DecodedImage(_upright_rgb(image), fmt)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise UnreadableImage(f"absurd dimensions {width}x{height}")
    if width * height > max_pixels:
        raise UnreadableImage(
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels, over the limit of "
            f"{max_pixels / 1e6:.0f} (a possible decompression bomb; see max_pixels in "
            "faceloop.toml)"
        )
    if min(width, height) < MIN_SIDE:
        raise UnreadableImage(f"{width}x{height} pixels is too small to hold a face")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise UnreadableImage(
            f"absurd dimensions {width}x{height} (aspect ratio over {MAX_ASPECT})"
        )


def _upright_rgb(image: Image.Image) -> Image.Image:
    with contextlib.suppress(Exception):  # a broken EXIF block only costs the orientation
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _scaled_to_8bit(image)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if mode != "RGB":
        return image.convert("RGB")
    return image


def _scaled_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float greys use their full range rather than being clipped at 255."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        low, high = 0.0, 65535.0
    else:
        low, high = float(values.min()), float(values.max())
    span = high - low or 1.0
    grey = np.clip((values - low) * (255.0 / span), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, "L").convert("RGB")


_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG": "PNG",
    b"GIF8": "GIF",
    b"RIFF": "WebP",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _fmt_name(data: bytes) -> str:
    for signature, name in _SIGNATURES.items():
        if data.startswith(signature):
            return f"{name} file"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftypavif"):
        return "HEIF file"
    return "image"


def not_an_image(data: bytes) -> str:
    """Why bytes no decoder reads are not a photo, named by what they are instead: an upload
    of a saved web page or a PDF is a common mistake, and "unidentified image" does not help."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "not an image: the file is an HTML page"
    if head.startswith(b"%pdf"):
        return "not an image: the file is a PDF document"
    if head.startswith(b"pk\x03\x04"):
        return "not an image: the file is a ZIP archive"
    try:
        head.decode("utf-8")
        return "not an image: the file is text"
    except UnicodeDecodeError:
        return "not an image: the content is no known image format"
