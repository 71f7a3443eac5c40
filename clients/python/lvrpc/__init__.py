"""A Python client for the Learning Validation wire protocol (docs/PROTOCOL.md).

Written from the spec and proto/ alone: the message types are protoc's generated modules
(package `lv`, e.g. `lv.registration.v1.registration_pb2`), and `lvrpc.services` has one typed
client per service. See clients/python/README.md.
"""
from .protocol import (FrameType, Frame, FrameHeader, HEADER_SIZE, MAGIC, VERSION, encode_frame, decode_frames,
                       message_class, StatusCode)
from .client import Client, RPCError, connect
from .services import *  # noqa: F401,F403
from . import services

__all__ = ["FrameType", "Frame", "FrameHeader", "HEADER_SIZE", "MAGIC", "VERSION", "encode_frame", "decode_frames",
           "message_class", "StatusCode", "Client", "RPCError", "connect"] + services.__all__
