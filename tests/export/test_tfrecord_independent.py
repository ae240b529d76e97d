"""TFRecord files checked by an independent reader, and files it wrote read by faceloop.

The independent side is the `tfrecord` package from PyPI: its own framing loop, its protobuf
`example_pb2` (generated from TensorFlow's example.proto) and the CRC-32C of the `crc32c`
package with its own masking. Nothing of faceloop's framing or Example code is used to check.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image
from tfrecord import example_pb2
from tfrecord.reader import tfrecord_iterator
from tfrecord.writer import TFRecordWriter

from faceloop.export import TFRecordOptions, read_dataset, write_tfrecord
from faceloop.export.example_proto import decode_example
from faceloop.export.tfrecord import masked_crc32c


def independent_records(path: Path) -> list[bytes]:
    """Every record's data, with both CRCs checked by the `crc32c` package's masking."""
    raw = path.read_bytes()
    records, pos = [], 0
    while pos < len(raw):
        length_bytes = raw[pos : pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        assert raw[pos + 8 : pos + 12] == TFRecordWriter.masked_crc(length_bytes)
        data = raw[pos + 12 : pos + 12 + length]
        assert raw[pos + 12 + length : pos + 16 + length] == TFRecordWriter.masked_crc(data)
        records.append(data)
        pos += 16 + length
    assert [bytes(r) for r in tfrecord_iterator(str(path))] == records
    return records


def parse(data: bytes) -> dict:
    example = example_pb2.Example()
    example.ParseFromString(data)
    result = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        result[name] = list(getattr(feature, kind).value)
    return result


def test_crc32c_matches_the_independent_masking():
    for data in (b"", b"123456789", bytes(32), bytes(range(256)) * 20):
        assert struct.pack("<I", masked_crc32c(data)) == TFRecordWriter.masked_crc(data)


def test_files_read_by_an_independent_reader(tmp_path, faces):
    summary = write_tfrecord(iter(faces), tmp_path / "out", TFRecordOptions(faces_per_shard=10))
    by_id = {f.face_id: f for f in faces}
    shards = sorted((tmp_path / "out").glob("*.tfrecord"))
    assert [p.name for p in shards if p.name.startswith("train")] == [
        f"train-{i:05d}-of-{summary.per_split['train'] // 10 + 1:05d}.tfrecord"
        for i in range(summary.per_split["train"] // 10 + 1)
    ]
    seen = set()
    for shard in shards:
        for data in independent_records(shard):
            features = parse(data)
            assert sorted(features) == ["id", "image_raw", "label"]
            face = by_id[features["id"][0]]
            assert features["label"] == [face.label]
            assert features["image_raw"] == [face.crop_jpeg]
            with Image.open(io.BytesIO(features["image_raw"][0])) as image:
                image.load()
                assert image.size == (112, 112)
            assert shard.name.startswith(face.split + "-")
            seen.add(face.face_id)
    assert seen == set(by_id)


def test_common_keys(tmp_path, faces):
    write_tfrecord(iter(faces), tmp_path / "out", TFRecordOptions(keys="common"))
    records = independent_records(next((tmp_path / "out").glob("train-*.tfrecord")))
    features = parse(records[0])
    assert features["image/format"] == [b"jpeg"]
    assert isinstance(features["image/class/label"][0], int)
    assert features["image/encoded"][0].startswith(b"\xff\xd8")
    faces_back = list(read_dataset(tmp_path / "out"))
    assert {f.source_face_id for f in faces_back} == {f.face_id for f in faces}


def test_reads_what_the_independent_writer_wrote(tmp_path):
    path = tmp_path / "train-00000-of-00001.tfrecord"
    writer = TFRecordWriter(str(path))
    for i in range(3):
        writer.write(
            {
                "image_raw": (b"\xff\xd8jpeg%d" % i, "byte"),
                "label": (i, "int"),
                "id": (i + 10, "int"),
            }
        )
    writer.close()
    faces = list(read_dataset(path))
    assert [(f.source_face_id, f.label, f.image, f.split) for f in faces] == [
        (10 + i, i, b"\xff\xd8jpeg%d" % i, "train") for i in range(3)
    ]


def test_example_decoder_against_protobuf():
    example = example_pb2.Example()
    feature = example.features.feature
    feature["ints"].int64_list.value.extend([0, 1, -1, 2**40, -(2**63)])
    feature["floats"].float_list.value.extend([0.5, -2.25])
    feature["blobs"].bytes_list.value.extend([b"", b"x" * 300])
    decoded = decode_example(example.SerializeToString())
    assert decoded == {
        "ints": [0, 1, -1, 2**40, -(2**63)],
        "floats": [0.5, -2.25],
        "blobs": [b"", b"x" * 300],
    }
