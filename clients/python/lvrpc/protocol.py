"""Frames and messages of docs/PROTOCOL.md, version 1."""
import enum
import pathlib
import struct
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

MAGIC = b"LV"
VERSION = 1
HEADER_SIZE = 16
_HEADER = struct.Struct(">2sBBBBHII")  # magic, version, type, flags, reserved, meta length, stream id, payload length



class FrameType(enum.IntEnum):
    HELLO = 1
    HELLO_ACK = 2
    REQUEST = 3
    RESPONSE = 4
    CANCEL = 5
    PING = 6
    PONG = 7
    GOAWAY = 8


class StatusCode(enum.IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


_POOLS = {}


def _pool(protoset=None):
    """The generated modules' pool (protoset None), or a pool built from a descriptor set file
    (e.g. one fetched from a server of another version by reflection)."""
    if protoset is None:
        from . import _messages  # noqa: F401  (imports every generated *_pb2 module into the default pool)
        return descriptor_pool.Default()
    key = str(protoset)
    if key not in _POOLS:
        fds = descriptor_pb2.FileDescriptorSet.FromString(pathlib.Path(protoset).read_bytes())
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        _POOLS[key] = pool
    return _POOLS[key]


def message_class(full_name, protoset=None):
    """The message class for "lv.health.v1.HealthCheckRequest" (from the generated modules by default)."""
    return message_factory.GetMessageClass(_pool(protoset).FindMessageTypeByName(full_name))


@dataclass
class FrameHeader:
    type: int
    stream_id: int
    meta_length: int
    payload_length: int
    flags: int = 0
    magic: bytes = MAGIC
    version: int = VERSION

    def pack(self):
        return _HEADER.pack(self.magic, self.version, self.type, self.flags, 0, self.meta_length, self.stream_id,
                            self.payload_length)

    @classmethod
    def unpack(cls, data):
        magic, version, type_, flags, _reserved, meta_len, stream_id, payload_len = _HEADER.unpack(data[:HEADER_SIZE])
        return cls(type=type_, stream_id=stream_id, meta_length=meta_len, payload_length=payload_len, flags=flags,
                   magic=magic, version=version)


@dataclass
class Frame:
    type: int
    stream_id: int
    meta: bytes = b""
    payload: bytes = b""
    flags: int = 0

    def meta_message(self):
        return message_class("lv.rpc.v1.FrameMeta").FromString(self.meta)


def _bytes(section):
    if section is None:
        return b""
    if isinstance(section, (bytes, bytearray)):
        return bytes(section)
    return section.SerializeToString(deterministic=True)


def encode_frame(type_, stream_id=0, meta=None, payload=None, flags=0):
    """Header + meta + payload; meta and payload are messages or raw bytes."""
    meta_bytes, payload_bytes = _bytes(meta), _bytes(payload)
    if len(meta_bytes) > 0xFFFF:
        raise ValueError("frame meta over 65535 bytes")
    header = FrameHeader(type=int(type_), stream_id=stream_id, meta_length=len(meta_bytes),
                         payload_length=len(payload_bytes), flags=flags)
    return header.pack() + meta_bytes + payload_bytes


class ProtocolError(Exception):
    pass


def decode_frames(buffer):
    """Splits complete frames off the front of `buffer` (a bytearray, consumed in place)."""
    frames = []
    while len(buffer) >= HEADER_SIZE:
        header = FrameHeader.unpack(bytes(buffer[:HEADER_SIZE]))
        if header.magic != MAGIC:
            raise ProtocolError(f"bad magic {header.magic!r}")
        if header.version != VERSION:
            raise ProtocolError(f"unsupported version {header.version}")
        total = HEADER_SIZE + header.meta_length + header.payload_length
        if len(buffer) < total:
            break
        meta = bytes(buffer[HEADER_SIZE:HEADER_SIZE + header.meta_length])
        payload = bytes(buffer[HEADER_SIZE + header.meta_length:total])
        del buffer[:total]
        frames.append(Frame(type=header.type, stream_id=header.stream_id, meta=meta, payload=payload, flags=header.flags))
    return frames
