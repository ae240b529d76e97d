"""tf.train.Example, encoded and decoded by hand.

The message is tiny (a map from names to lists of bytes, int64 or float), and writing it by hand
spares every user of faceloop a protobuf runtime and a generated module for three fields. The
decoder reads the protobuf wire format generally (packed and unpacked lists, fields in any order,
unknown fields skipped), so Examples written by TensorFlow itself read back too.

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }
    Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2;
                       Int64List int64_list = 3; } }
    *List    { repeated T value = 1; }
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

FeatureValue = list[bytes] | list[int] | list[float]

_LEN = 2
_U64 = (1 << 64) - 1


_SMALL = [bytes((i,)) for i in range(128)]


def _varint(value: int) -> bytes:
    if 0 <= value < 128:
        return _SMALL[value]
    value &= _U64  # negative int64 values are ten-byte two's complement, as protobuf has it
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_TAGS = {number: _varint(number << 3 | _LEN) for number in (1, 2, 3)}


def _field(number: int, payload: bytes) -> bytes:
    return b"".join((_TAGS[number], _varint(len(payload)), payload))


def bytes_feature(values: Sequence[bytes]) -> bytes:
    return _field(1, b"".join(_field(1, v) for v in values))


def int64_feature(values: Sequence[int]) -> bytes:
    return _field(3, _field(1, b"".join(_varint(v) for v in values)))


def float_feature(values: Sequence[float]) -> bytes:
    return _field(2, _field(1, struct.pack(f"<{len(values)}f", *values)))


def encode_example(features: Mapping[str, bytes]) -> bytes:
    """An Example from already-encoded Feature messages (made with the *_feature functions)."""
    entries = b"".join(
        _field(1, _field(1, name.encode()) + _field(2, feature))
        for name, feature in features.items()
    )
    return _field(1, entries)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("message ends inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(data: bytes):
    """(field number, wire type, value) for each field; LEN values are bytes, others ints."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise ValueError("message ends inside a fixed64")
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == _LEN:
            length, pos = _read_varint(data, pos)
            if pos + length > end:
                raise ValueError("a field is longer than its message")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            if pos + 4 > end:
                raise ValueError("message ends inside a fixed32")
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _decode_feature(data: bytes) -> FeatureValue:
    values: list = []
    for kind, wire, payload in _fields(data):
        if wire != _LEN or kind not in (1, 2, 3):
            continue
        values = []
        for number, item_wire, item in _fields(payload):
            if number != 1:
                continue
            if kind == 1 and item_wire == _LEN:
                values.append(bytes(item))
            elif kind == 3 and item_wire == 0:
                values.append(_signed(item))
            elif kind == 3 and item_wire == _LEN:
                pos = 0
                while pos < len(item):
                    raw, pos = _read_varint(item, pos)
                    values.append(_signed(raw))
            elif kind == 2 and item_wire == 5:
                values.append(struct.unpack("<f", item)[0])
            elif kind == 2 and item_wire == _LEN:
                if len(item) % 4:
                    raise ValueError("packed floats are not a multiple of 4 bytes")
                values.extend(struct.unpack(f"<{len(item) // 4}f", item))
            else:
                raise ValueError(f"feature list of kind {kind} holds wire type {item_wire}")
    return values


def decode_example(data: bytes) -> dict[str, FeatureValue]:
    """name -> list of values; raises ValueError for bytes that are not an Example."""
    features: dict[str, FeatureValue] = {}
    for number, wire, payload in _fields(data):
        if number != 1 or wire != _LEN:
            continue
        for entry_number, entry_wire, entry in _fields(payload):
            if entry_number != 1 or entry_wire != _LEN:
                continue
            name, feature = None, b""
            for part, part_wire, value in _fields(entry):
                if part == 1 and part_wire == _LEN:
                    name = bytes(value).decode("utf-8")
                elif part == 2 and part_wire == _LEN:
                    feature = value
            if name is None:
                raise ValueError("a feature has no name")
            features[name] = _decode_feature(feature)
    return features
