#!/usr/bin/env python3
"""Writes docs/protocol-vectors.json: hex test vectors for docs/PROTOCOL.md.

Messages are encoded by the official protobuf package from proto/lv.protoset, and headers are
packed here with struct, so the vectors do not come from the Swift (protobuf-c) implementation
they test. Run by `make proto`; `--check` fails when the committed file is stale.
"""
import json
import pathlib
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "protocol-vectors.json"

TYPES = {"HELLO": 1, "HELLO_ACK": 2, "REQUEST": 3, "RESPONSE": 4, "CANCEL": 5, "PING": 6, "PONG": 7, "GOAWAY": 8}


def load_pool():
    fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "proto" / "lv.protoset").read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return pool


POOL = load_pool()


def message(type_name, fields):
    cls = message_factory.GetMessageClass(POOL.FindMessageTypeByName(type_name))
    return json_format.ParseDict(fields, cls())


def header(type_code, stream_id, meta_len, payload_len, magic=b"LV", version=1, flags=0):
    return magic + struct.pack(">BBBBHII", version, type_code, flags, 0, meta_len, stream_id, payload_len)


def section(spec):
    if spec is None:
        return b"", None
    if "raw_hex" in spec:
        return bytes.fromhex(spec["raw_hex"]), spec
    data = message(spec["type"], spec["json"]).SerializeToString(deterministic=True)
    return data, spec


def frame_vector(name, description, type_name, stream_id, meta=None, payload=None):
    meta_bytes, meta_spec = section(meta)
    payload_bytes, payload_spec = section(payload)
    raw = header(TYPES[type_name], stream_id, len(meta_bytes), len(payload_bytes)) + meta_bytes + payload_bytes
    frame = {"type": type_name, "stream_id": stream_id, "flags": 0}
    if meta_spec:
        frame["meta"] = meta_spec
    if payload_spec:
        frame["payload"] = payload_spec
    return {"name": name, "description": description, "hex": raw.hex(), "frame": frame}


def behaviour(name, description, raw, expect, then_zero_bytes=0):
    v = {"name": name, "description": description, "hex": raw.hex(), "expect": expect}
    if then_zero_bytes:
        v["then_zero_bytes"] = then_zero_bytes
    return v


def request_bytes(stream_id, method, payload_type="lv.health.v1.HealthCheckRequest", payload_json=None):
    meta = message("lv.rpc.v1.FrameMeta", {"method": method}).SerializeToString(deterministic=True)
    payload = message(payload_type, payload_json or {}).SerializeToString(deterministic=True)
    return header(3, stream_id, len(meta), len(payload)) + meta + payload


def vectors():
    health = "lv.health.v1.Health/Check"
    v = [
        frame_vector("hello", "Client HELLO: version 1, default frame size, 100 streams, a client name.", "HELLO", 0,
                     payload={"type": "lv.rpc.v1.Hello", "json": {
                         "protocolVersion": 1, "maxFrameSize": 4194304, "maxConcurrentStreams": 100,
                         "clientName": "python-lvrpc/0.1"}}),
        frame_vector("hello_with_credential", "HELLO carrying a bearer credential.", "HELLO", 0,
                     payload={"type": "lv.rpc.v1.Hello", "json": {"protocolVersion": 1, "credential": "Bearer s3cr3t"}}),
        frame_vector("hello_ack", "Server HELLO_ACK with its limits.", "HELLO_ACK", 0,
                     payload={"type": "lv.rpc.v1.HelloAck", "json": {
                         "protocolVersion": 1, "maxFrameSize": 4194304, "maxConcurrentStreams": 256,
                         "serverName": "lv-registration", "idleTimeoutS": 300}}),
        frame_vector("request_health_check", "REQUEST on stream 1 with deadline, metadata and traceparent.", "REQUEST", 1,
                     meta={"type": "lv.rpc.v1.FrameMeta", "json": {
                         "method": health, "timeoutMs": 250,
                         "metadata": {"x-request-id": "req-1", "x-tenant": "acme-cme"},
                         "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
                     payload={"type": "lv.health.v1.HealthCheckRequest", "json": {"service": "lv.health.v1.Health"}}),
        frame_vector("request_empty_payload", "REQUEST whose request message is all defaults (empty payload).", "REQUEST", 2,
                     meta={"type": "lv.rpc.v1.FrameMeta", "json": {"method": health}}),
        frame_vector("response_ok", "RESPONSE OK: empty meta, the response message as payload.", "RESPONSE", 1,
                     payload={"type": "lv.health.v1.HealthCheckResponse", "json": {"status": "SERVING"}}),
        frame_vector("response_invalid_argument", "RESPONSE INVALID_ARGUMENT naming the field and rule.", "RESPONSE", 3,
                     meta={"type": "lv.rpc.v1.FrameMeta", "json": {"status": {
                         "code": "INVALID_ARGUMENT", "message": "npi: check digit does not match",
                         "violations": [{"field": "npi", "rule": "luhn",
                                         "description": "the 10th digit must be the Luhn check digit over 80840 + the first 9"}]}}}),
        frame_vector("response_unavailable_retryable", "RESPONSE refused by the concurrency limit: safe to retry.", "RESPONSE", 5,
                     meta={"type": "lv.rpc.v1.FrameMeta", "json": {"status": {
                         "code": "UNAVAILABLE", "message": "256 calls already in flight on this connection",
                         "retryable": True, "retryAfterMs": 5}}}),
        frame_vector("response_unicode", "RESPONSE whose status message holds non-ASCII UTF-8.", "RESPONSE", 9,
                     meta={"type": "lv.rpc.v1.FrameMeta", "json": {"status": {
                         "code": "NOT_FOUND", "message": "no physician named Zoë Ñúñez (名前)"}}}),
        frame_vector("cancel", "CANCEL stream 3: no answer follows.", "CANCEL", 3),
        frame_vector("ping", "PING with 8 opaque bytes.", "PING", 0, payload={"raw_hex": "0102030405060708"}),
        frame_vector("pong", "PONG echoing the PING's bytes.", "PONG", 0, payload={"raw_hex": "0102030405060708"}),
        frame_vector("goaway_drain", "GOAWAY for graceful drain: streams up to 7 finish; retry the rest.", "GOAWAY", 0,
                     payload={"type": "lv.rpc.v1.GoAway", "json": {"lastStreamId": 7, "status": {
                         "code": "UNAVAILABLE", "message": "the server is shutting down", "retryable": True}}}),
    ]

    def closes(code, last_stream_id=0):
        return {"reply": {"type": "GOAWAY", "code": code, "last_stream_id": last_stream_id}, "closes": True}

    responds = lambda stream, code: {"reply": {"type": "RESPONSE", "stream_id": stream, "code": code}, "closes": False}
    hard_cap = 64 * 1024 * 1024
    max_frame = 4 * 1024 * 1024
    v += [
        behaviour("bad_magic", "A frame starting with 'XX' instead of 'LV'.",
                  header(6, 0, 0, 0, magic=b"XX"), dict(closes(3), send_after_hello=True)),
        behaviour("unsupported_version", "A frame with version byte 2.",
                  header(6, 0, 0, 0, version=2), dict(closes(12), send_after_hello=True)),
        behaviour("request_before_hello", "A REQUEST as the first frame on a connection.",
                  request_bytes(1, health), dict(closes(9), send_after_hello=False)),
        behaviour("second_hello", "HELLO sent again after the handshake.",
                  header(1, 0, 0, 2) + bytes.fromhex("0801"), dict(closes(9), send_after_hello=True)),
        behaviour("duplicate_stream_id", "Two REQUESTs on stream 1 in one write: a connection error (GOAWAY last_stream_id 1). "
                  "The first call is answered if it finished before the second REQUEST was read, else cancelled unanswered.",
                  request_bytes(1, health) + request_bytes(1, health),
                  dict(closes(9, last_stream_id=1), send_after_hello=True, may_answer_first=[1])),
        behaviour("decreasing_stream_id", "REQUEST on stream 5 then on stream 4: stream ids must increase (GOAWAY last_stream_id 5). "
                  "Stream 5 is answered if it finished before stream 4's REQUEST was read, else cancelled unanswered.",
                  request_bytes(5, health) + request_bytes(4, health),
                  dict(closes(9, last_stream_id=5), send_after_hello=True, may_answer_first=[5])),
        behaviour("unknown_method", "A REQUEST for a method the server does not serve.",
                  request_bytes(1, "lv.nothing.v1.Nothing/Nope"), dict(responds(1, 12), send_after_hello=True)),
        behaviour("malformed_meta", "A REQUEST whose meta is not a FrameMeta (truncated varint).",
                  header(3, 1, 2, 0) + bytes.fromhex("10ff"), dict(responds(1, 3), send_after_hello=True)),
        behaviour("malformed_payload", "A REQUEST whose payload is not a HealthCheckRequest (invalid UTF-8 in service).",
                  (lambda meta: header(3, 1, len(meta), 3) + meta + bytes.fromhex("0a01ff"))(
                      message("lv.rpc.v1.FrameMeta", {"method": health}).SerializeToString()),
                  dict(responds(1, 3), send_after_hello=True)),
        behaviour("unknown_frame_type", "Frame type 0x2a with 3 payload bytes: skipped, then a PING is answered.",
                  header(0x2a, 0, 0, 3) + b"abc" + header(6, 0, 0, 8) + bytes(8),
                  {"send_after_hello": True, "reply": {"type": "PONG"}, "closes": False}),
        behaviour("oversized_request", "A REQUEST declaring a body 1 byte over the 4 MiB frame limit; the bytes follow.",
                  header(3, 1, 0, max_frame + 1), dict(responds(1, 8), send_after_hello=True), then_zero_bytes=max_frame + 1),
        behaviour("over_hard_cap", "A REQUEST declaring a body 1 byte over the 64 MiB hard cap.",
                  header(3, 1, 0, hard_cap + 1), dict(closes(8), send_after_hello=True)),
    ]
    return v


def main():
    text = json.dumps({"protocol_version": 1, "vectors": vectors()}, indent=2) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            print("stale: docs/protocol-vectors.json differs from what scripts/make-protocol-vectors.py produces", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
