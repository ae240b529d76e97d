"""TFRecord round trips through faceloop's own reader, and bad CRCs, truncation, resync."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from faceloop.export import TFRecordOptions, read_dataset, write_tfrecord
from faceloop.export.example_proto import (
    bytes_feature,
    decode_example,
    encode_example,
    int64_feature,
)
from faceloop.export.tfrecord import frame_record, masked_crc32c, read_records

from .conftest import make_face


def test_crc32c_known_vectors():
    # the CRC-32C check value of RFC 3720 (iSCSI), then TFRecord's mask worked by hand
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"") == 0xA282EAD8


def test_example_round_trip_with_negative_and_large_ints():
    blob = encode_example(
        {"a": int64_feature([-1, 0, 2**62]), "b": bytes_feature([b"", b"\x00" * 200])}
    )
    assert decode_example(blob) == {"a": [-1, 0, 2**62], "b": [b"", b"\x00" * 200]}


@pytest.mark.parametrize(
    ("keys", "image"),
    [("original", "crop"), ("common", "crop"), ("original", "chip"), ("common", "photo")],
)
def test_round_trip(tmp_path, faces, keys, image):
    options = TFRecordOptions(keys=keys, image=image, contact_sheets=False)
    write_tfrecord(iter(faces), tmp_path / "out", options)
    reader = read_dataset(tmp_path / "out")
    assert reader.format == "tfrecord"
    back = {f.source_face_id: f for f in reader}
    assert reader.problems == []
    assert set(back) == {f.face_id for f in faces}
    for face in faces:
        got = back[face.face_id]
        wanted_image = {"crop": face.crop_jpeg, "chip": face.chip_jpeg, "photo": face.photo()}
        assert got.image == wanted_image[image]
        assert (got.label, got.split) == (face.label, face.split)
        assert got.person_name == (face.person_name if face.label else None)
        assert got.aliases == (face.aliases if face.label else ())


def _offsets(raw: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos < len(raw):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<Q", raw, pos)[0]
    return offsets


def _read(path: Path) -> tuple[list[int], list]:
    problems = []
    ids = [decode_example(data)["id"][0] for _, data in read_records(path, problems.append)]
    return ids, problems


def _shard(tmp_path: Path, count: int = 8) -> tuple[Path, bytearray, list[int]]:
    """Real Examples with small images, so that ids can be checked after a resync."""
    image = bytes_feature([b"\xff\xd8" + bytes(100)])
    raw = b"".join(
        frame_record(encode_example({"image_raw": image, "id": int64_feature([i])}))
        for i in range(count)
    )
    return tmp_path / "train-00000-of-00001.tfrecord", bytearray(raw), _offsets(raw)


def test_bad_length_crc_is_reported_and_the_rest_read(tmp_path):
    path, raw, offsets = _shard(tmp_path)
    raw[offsets[2] + 8] ^= 0xFF
    path.write_bytes(raw)
    ids, problems = _read(path)
    assert ids == [0, 1, 3, 4, 5, 6, 7]
    assert len(problems) == 1
    assert problems[0].file == path and problems[0].record == 2
    assert "bad length CRC" in problems[0].reason


def test_bad_data_crc_is_reported_and_the_rest_read(tmp_path):
    path, raw, offsets = _shard(tmp_path)
    raw[offsets[5] + 20] ^= 0x01
    path.write_bytes(raw)
    ids, problems = _read(path)
    assert ids == [0, 1, 2, 3, 4, 6, 7]
    assert [(p.record, "bad data CRC" in p.reason) for p in problems] == [(5, True)]


def test_truncated_last_record(tmp_path):
    path, raw, offsets = _shard(tmp_path)
    path.write_bytes(raw[: offsets[7] + 30])
    ids, problems = _read(path)
    assert ids == list(range(7))
    assert [(p.record, p.reason.startswith("truncated")) for p in problems] == [(7, True)]


def test_a_record_cut_short_in_the_middle_is_skipped(tmp_path):
    path, raw, offsets = _shard(tmp_path)
    del raw[offsets[3] + 40 : offsets[4]]
    path.write_bytes(raw)
    ids, problems = _read(path)
    assert ids == [0, 1, 2, 4, 5, 6, 7]
    assert [p.record for p in problems] == [3]


def test_corrupt_shard_among_good_ones_through_read_dataset(tmp_path, faces):
    write_tfrecord(iter(faces), tmp_path / "out", TFRecordOptions(faces_per_shard=5))
    shard = sorted((tmp_path / "out").glob("train-*.tfrecord"))[1]
    raw = bytearray(shard.read_bytes())
    raw[8] ^= 0xFF
    shard.write_bytes(raw)
    seen = []
    reader = read_dataset(tmp_path / "out", on_problem=seen.append)
    back = list(reader)
    assert len(back) == len(faces) - 1
    assert seen == reader.problems
    assert reader.problems[0].file == shard and reader.problems[0].record == 0
    assert str(shard) in str(reader.problems[0])


def test_not_an_example(tmp_path):
    path = tmp_path / "train-00000-of-00001.tfrecord"
    path.write_bytes(frame_record(b"\x0a\xff\xff") + frame_record(b"\x0a\x00"))
    reader = read_dataset(path)
    assert list(reader) == []
    assert [p.record for p in reader.problems] == [0, 1]


def test_an_unsafe_shard_size_is_refused(tmp_path):
    with pytest.raises(ValueError):
        write_tfrecord(iter([make_face(1, 1)]), tmp_path / "o", TFRecordOptions(faces_per_shard=0))
