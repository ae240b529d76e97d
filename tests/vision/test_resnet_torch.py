"""The PyTorch port of dlib's face ResNet must give dlib's own descriptors, on real faces."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import dlib
import numpy as np
import pytest
import torch
from PIL import Image

from faceloop.vision import model_files
from faceloop.vision import resnet_torch as rt

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw-devtrain"
N_CHIPS = 24
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def dat_path() -> Path:
    return model_files.model_path(model_files.RESNET)


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    if not LFW.is_dir():
        pytest.fail(f"real face photos not found: {LFW} (expected ../shared/data beside the repo)")
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_files.model_path(model_files.LANDMARKS_5)))
    found = []
    for person in sorted(p for p in LFW.iterdir() if p.is_dir()):
        photo = min(person.glob("*.jpg"), default=None)
        if photo is None:
            continue
        img = np.asarray(Image.open(photo).convert("RGB"))
        faces = detector(img, 1)
        if faces:
            shape = predictor(img, faces[0])
            found.append(dlib.get_face_chip(img, shape, size=150, padding=0.25))
        if len(found) == N_CHIPS:
            break
    assert len(found) == N_CHIPS, f"only {len(found)} faces found under {LFW}"
    return np.stack(found)


@pytest.fixture(scope="module")
def dlib_descriptors(chips: np.ndarray, dat_path: Path) -> np.ndarray:
    recognizer = dlib.face_recognition_model_v1(str(dat_path))
    return np.stack([np.array(recognizer.compute_face_descriptor(c, 0)) for c in chips])


def test_matches_dlib_on_real_chips(
    chips: np.ndarray, dlib_descriptors: np.ndarray, dat_path: Path
) -> None:
    model = rt.load_resnet(dat_path)
    ours = rt.embed_chips(model, chips)
    assert ours.shape == (N_CHIPS, 128)
    assert ours.dtype == np.float32
    diff = np.abs(ours.astype(np.float64) - dlib_descriptors)
    assert diff.max() < TOLERANCE, f"max abs difference {diff.max():.3g}"
    # Guard against a trivially-equal pair (say, both all zeros).
    assert np.linalg.norm(dlib_descriptors, axis=1).min() > 0.5


def test_batching_does_not_change_descriptors(chips: np.ndarray, dat_path: Path) -> None:
    model = rt.load_resnet(dat_path)
    one_by_one = rt.embed_chips(model, chips[:5], batch_size=1)
    batched = rt.embed_chips(model, chips[:5], batch_size=16)
    np.testing.assert_allclose(one_by_one, batched, rtol=0, atol=1e-5)
    assert rt.embed_chips(model, chips[:0]).shape == (0, 128)


def test_cache_is_written_once_and_reused(tmp_path: Path, dat_path: Path) -> None:
    first = rt.load_resnet(dat_path, tmp_path)
    (cached,) = tmp_path.iterdir()
    written = cached.stat().st_mtime_ns
    second = rt.load_resnet(dat_path, tmp_path)
    assert list(tmp_path.iterdir()) == [cached]
    assert cached.stat().st_mtime_ns == written
    for (name, a), (_, b) in zip(
        first.state_dict().items(), second.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_corrupt_cache_is_rebuilt(tmp_path: Path, dat_path: Path) -> None:
    rt.load_resnet(dat_path, tmp_path)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(b"not a tensor file")
    model = rt.load_resnet(dat_path, tmp_path)
    assert model.fc.weight.shape == (128, 256)
    assert cached.stat().st_size > 20_000_000


def test_parsed_arrays_have_dlib_shapes(dat_path: Path) -> None:
    arrays = rt.parse_dlib_resnet(dat_path)
    np.testing.assert_array_equal(
        arrays["input_mean"], np.array([122.782, 117.001, 104.298], dtype=np.float32)
    )
    assert arrays["stem.weight"].shape == (32, 3, 7, 7)
    assert arrays["stage1.0.conv1.weight"].shape == (64, 32, 3, 3)
    assert arrays["stage4.0.conv2.weight"].shape == (256, 256, 3, 3)
    assert arrays["fc.weight"].shape == (256, 128)
    assert all(a.dtype == np.float32 for a in arrays.values())
    assert sum(a.size for a in arrays.values()) == 5_614_595


def _dlib_float_details(value: float) -> tuple[int, int]:
    """dlib's float_details::convert_from_T for a float (24 mantissa digits), written from
    dlib/float_details.h independently of the decoder under test."""
    mantissa_f, exp = math.frexp(value)
    mantissa = int(mantissa_f * (1 << 24))
    exponent = exp - 24
    for _ in range(8):
        if mantissa & 0xFF:
            break
        mantissa >>= 8
        exponent += 8
    return mantissa, exponent


def test_portable_float_decoding_is_bit_exact() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.standard_normal(1000).astype(np.float32),
            np.array([0.0, -0.0, 1.0, -2.5, 122.782, 1e-40, -3e-45, 3.4e38], dtype=np.float32),
        ]
    )
    pairs = np.array([_dlib_float_details(float(v)) for v in values], dtype=np.int64)
    decoded = rt.float_details_to_float32(pairs[:, 0], pairs[:, 1])
    # dlib's integer mantissa drops the sign of -0.0; everything else must match bit for bit.
    values[values == 0] = 0.0
    assert decoded.dtype == np.float32
    assert decoded.tobytes() == values.tobytes()
    special = rt.float_details_to_float32(np.array([0, 0]), np.array([32000, 32001]))
    assert special.tolist() == [math.inf, -math.inf]


def test_rejects_truncated_or_foreign_files(tmp_path: Path, dat_path: Path) -> None:
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(dat_path.read_bytes()[:100_000])
    with pytest.raises(rt.DlibFormatError):
        rt.parse_dlib_resnet(truncated)
    foreign = tmp_path / "foreign.dat"
    foreign.write_bytes(struct.pack("<4f", 1, 2, 3, 4))
    with pytest.raises(rt.DlibFormatError):
        rt.parse_dlib_resnet(foreign)


def test_preprocess_rejects_unaligned_input() -> None:
    with pytest.raises(ValueError, match="150"):
        rt.preprocess(np.zeros((1, 112, 112, 3), np.uint8), np.zeros(3, np.float32))
