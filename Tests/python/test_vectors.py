"""The Python client against docs/protocol-vectors.json: encoding and decoding, no server."""
import pytest
from google.protobuf import json_format

from conftest import load_vectors
from lvrpc import FrameHeader, FrameType, decode_frames, encode_frame, message_class
from lvrpc.protocol import ProtocolError

VECTORS = load_vectors()
FRAMES = [v for v in VECTORS if "frame" in v]
BEHAVIOURS = [v for v in VECTORS if "expect" in v]


def section(spec):
    if spec is None:
        return None
    if "raw_hex" in spec:
        return bytes.fromhex(spec["raw_hex"])
    return json_format.ParseDict(spec["json"], message_class(spec["type"])())


@pytest.mark.parametrize("vector", FRAMES, ids=lambda v: v["name"])
def test_encodes_to_vector_bytes(vector):
    f = vector["frame"]
    data = encode_frame(FrameType[f["type"]], f["stream_id"], meta=section(f.get("meta")),
                        payload=section(f.get("payload")), flags=f["flags"])
    assert data.hex() == vector["hex"]


@pytest.mark.parametrize("vector", FRAMES, ids=lambda v: v["name"])
def test_decodes_vector_bytes(vector):
    buffer = bytearray.fromhex(vector["hex"])
    frames = decode_frames(buffer)
    assert len(frames) == 1 and not buffer
    frame, spec = frames[0], vector["frame"]
    assert FrameType(frame.type).name == spec["type"]
    assert frame.stream_id == spec["stream_id"]
    for name, data in (("meta", frame.meta), ("payload", frame.payload)):
        s = spec.get(name)
        if s is None:
            assert data == b""
        elif "raw_hex" in s:
            assert data.hex() == s["raw_hex"]
        else:
            decoded = message_class(s["type"]).FromString(data)
            assert decoded == json_format.ParseDict(s["json"], message_class(s["type"])())


def test_frames_split_anywhere_decode_the_same():
    whole = bytes.fromhex("".join(v["hex"] for v in FRAMES))
    buffer, frames = bytearray(), []
    for b in whole:
        buffer.append(b)
        frames += decode_frames(buffer)
    assert [f.stream_id for f in frames] == [v["frame"]["stream_id"] for v in FRAMES]


@pytest.mark.parametrize("name, error", [("bad_magic", "magic"), ("unsupported_version", "version")])
def test_header_errors(name, error):
    vector = next(v for v in BEHAVIOURS if v["name"] == name)
    with pytest.raises(ProtocolError, match=error):
        decode_frames(bytearray.fromhex(vector["hex"]))


def test_oversized_header_declares_its_length():
    vector = next(v for v in BEHAVIOURS if v["name"] == "oversized_request")
    header = FrameHeader.unpack(bytes.fromhex(vector["hex"]))
    assert header.meta_length + header.payload_length == vector["then_zero_bytes"]
