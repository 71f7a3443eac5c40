"""A Python client for the Learning Validation wire protocol (docs/PROTOCOL.md).

Written from the spec and proto/ alone: messages come from the descriptor set
proto/lv.protoset through the official protobuf package.
"""
from .protocol import (FrameType, Frame, FrameHeader, HEADER_SIZE, MAGIC, VERSION, encode_frame, decode_frames,
                       message_class, StatusCode)
from .client import Client, RPCError

__all__ = ["FrameType", "Frame", "FrameHeader", "HEADER_SIZE", "MAGIC", "VERSION", "encode_frame", "decode_frames",
           "message_class", "StatusCode", "Client", "RPCError"]
