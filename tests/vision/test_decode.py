"""Decoding every format phones and the web produce, and refusing bad files with a reason."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from faceloop.vision.decode import UnreadableImage, decode


def two_halves(width: int = 64, height: int = 32) -> Image.Image:
    """Red left half, blue right half: orientation mistakes show up in the pixels."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (255, 0, 0)
    pixels[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(pixels)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("PPM", {}),
        ("HEIF", {"quality": -1}),
    ],
)
def test_formats_decode_to_rgb(fmt: str, options: dict) -> None:
    decoded = decode(encode(two_halves(), fmt, **options))
    pixels = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (64, 32)
    assert pixels[16, 8, 0] > 200 and pixels[16, 8, 2] < 60
    assert pixels[16, 56, 2] > 200 and pixels[16, 56, 0] < 60


def test_pgm_greyscale() -> None:
    grey = two_halves().convert("L")
    decoded = decode(encode(grey, "PPM"))
    assert decoded.image.mode == "RGB"
    assert decoded.format == "ppm"


def test_gif_first_frame() -> None:
    first = Image.new("RGB", (32, 32), (255, 0, 0))
    second = Image.new("RGB", (32, 32), (0, 255, 0))
    data = encode(first, "GIF", save_all=True, append_images=[second])
    pixels = np.asarray(decode(data).image)
    assert pixels[5, 5, 0] > 200 and pixels[5, 5, 1] < 60


def test_exif_orientation_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    data = encode(two_halves(), "JPEG", quality=95, exif=exif)
    decoded = decode(data)
    assert (decoded.width, decoded.height) == (32, 64)
    pixels = np.asarray(decoded.image)
    assert pixels[8, 16, 0] > 200  # the red half is now on top


def test_cmyk_jpeg() -> None:
    data = encode(two_halves().convert("CMYK"), "JPEG", quality=95)
    pixels = np.asarray(decode(data).image)
    assert pixels[16, 8, 0] > 200 and pixels[16, 56, 2] > 200


def test_sixteen_bit_grey_uses_full_range() -> None:
    values = np.zeros((32, 64), dtype=np.uint16)
    values[:, 32:] = 65535
    data = encode(Image.fromarray(values), "PNG")
    pixels = np.asarray(decode(data).image)
    assert pixels[0, 0, 0] == 0 and pixels[0, 63, 0] == 255


def test_alpha_composited_on_white() -> None:
    image = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    pixels = np.asarray(decode(encode(image, "PNG")).image)
    assert tuple(pixels[0, 0]) == (255, 255, 255)


def test_zero_bytes() -> None:
    with pytest.raises(UnreadableImage, match="empty file"):
        decode(b"")


def test_truncated_jpeg() -> None:
    data = encode(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG")
    with pytest.raises(UnreadableImage, match="truncated or corrupt JPEG"):
        decode(data[: len(data) // 2])


def test_html_saved_as_jpeg() -> None:
    with pytest.raises(UnreadableImage, match="HTML page"):
        decode(b"<!DOCTYPE html><html><body>403 Forbidden</body></html>")


def test_random_bytes() -> None:
    with pytest.raises(UnreadableImage, match="not an image"):
        decode(bytes(range(256)) * 4)


def png(width: int, height: int, rows: bytes, bit_depth: int = 8) -> bytes:
    """A PNG written by hand, so it can claim any size or bit depth."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bit_depth, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions: decoding it would need gigabytes."""
    return png(width, height, b"\x00" * 1024)


def test_decompression_bomb_refused_before_decoding() -> None:
    with pytest.raises(UnreadableImage, match="decompression bomb"):
        decode(png_header_only(30000, 30000))


def test_pixel_limit_is_a_setting() -> None:
    data = encode(two_halves(64, 32), "PNG")
    with pytest.raises(UnreadableImage, match="over the limit"):
        decode(data, max_pixels=1000)


@pytest.mark.parametrize(("width", "height"), [(20000, 16), (16, 20000)])
def test_absurd_dimensions(width: int, height: int) -> None:
    with pytest.raises(UnreadableImage, match="absurd dimensions"):
        decode(png_header_only(width, height))


def test_too_small_for_a_face() -> None:
    with pytest.raises(UnreadableImage, match="too small"):
        decode(encode(Image.new("RGB", (4, 4)), "PNG"))


def test_sixteen_bit_rgb_png() -> None:
    """48-bit PNGs come out of raw converters; their colours must survive."""
    rows = b""
    for _ in range(32):
        row = (b"\xff\xff\x00\x00\x00\x00" * 32) + (b"\x00\x00\x00\x00\xff\xff" * 32)
        rows += b"\x00" + row
    pixels = np.asarray(decode(png(64, 32, rows, bit_depth=16)).image)
    assert pixels[16, 8, 0] > 200 and pixels[16, 56, 2] > 200
