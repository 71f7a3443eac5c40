"""The Python client against a live lv-registration started by the test."""
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import load_vectors
from lvrpc import Client, FrameType, RPCError, StatusCode, decode_frames, encode_frame, message_class

BEHAVIOURS = [v for v in load_vectors() if "expect" in v]


def test_health_check(server):
    with Client(server.host, server.port) as c:
        assert c.hello_ack.server_name == "lv-registration"
        assert c.hello_ack.max_frame_size == 4 * 1024 * 1024
        Req = message_class("lv.health.v1.HealthCheckRequest")
        resp = c.call("lv.health.v1.Health/Check", Req(), "lv.health.v1.HealthCheckResponse")
        assert resp.status == 1  # SERVING
        resp = c.call("lv.health.v1.Health/Check", Req(service="lv.nothing.v1.Nothing"), "lv.health.v1.HealthCheckResponse")
        assert resp.status == 3  # SERVICE_UNKNOWN


def test_reflection_lists_services_and_message_names(server):
    with Client(server.host, server.port) as c:
        resp = c.call("lv.reflection.v1.Reflection/ListServices", message_class("lv.reflection.v1.ListServicesRequest")(),
                      "lv.reflection.v1.ListServicesResponse")
        services = {s.name: s for s in resp.services}
        assert "lv.health.v1.Health" in services and "lv.reflection.v1.Reflection" in services
        check = next(m for m in services["lv.health.v1.Health"].methods if m.name == "Check")
        # Every reported message name resolves in the published descriptor set.
        assert message_class(check.request_type).DESCRIPTOR.full_name == "lv.health.v1.HealthCheckRequest"
        assert message_class(check.response_type).DESCRIPTOR.full_name == "lv.health.v1.HealthCheckResponse"


def test_many_calls_in_flight_on_one_connection(server):
    Req = message_class("lv.health.v1.HealthCheckRequest")
    with Client(server.host, server.port) as c, ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda _: c.call("lv.health.v1.Health/Check", Req(), "lv.health.v1.HealthCheckResponse").status,
                                range(300)))
        assert results == [1] * 300
        assert c._next_stream == 301


def test_unknown_method_is_unimplemented(server):
    with Client(server.host, server.port) as c:
        with pytest.raises(RPCError) as e:
            c.call("lv.nothing.v1.Nothing/Nope", message_class("lv.health.v1.HealthCheckRequest")(),
                   "lv.health.v1.HealthCheckResponse")
        assert e.value.code == StatusCode.UNIMPLEMENTED
        assert not e.value.retryable


def test_ping(server):
    with Client(server.host, server.port) as c:
        assert c.ping(b"12345678") == b"12345678"


def read_frame(sock, buffer):
    while True:
        frames = decode_frames(buffer)
        if frames:
            # push back any extra frames
            for extra in reversed(frames[1:]):
                buffer[0:0] = encode_frame(extra.type, extra.stream_id, extra.meta, extra.payload)
            return frames[0]
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk


@pytest.mark.parametrize("vector", BEHAVIOURS, ids=lambda v: v["name"])
def test_behaviour_vector(server, vector):
    expect = vector["expect"]
    sock = socket.create_connection((server.host, server.port), timeout=10)
    buffer = bytearray()
    if expect["send_after_hello"]:
        Hello = message_class("lv.rpc.v1.Hello")
        sock.sendall(encode_frame(FrameType.HELLO, 0, payload=Hello(protocol_version=1)))
        assert read_frame(sock, buffer).type == FrameType.HELLO_ACK
    sock.sendall(bytes.fromhex(vector["hex"]))
    remaining = vector.get("then_zero_bytes", 0)
    while remaining:
        n = min(remaining, 1 << 18)
        sock.sendall(bytes(n))
        remaining -= n
    answered_first = []
    for reply in [expect["reply"]] + ([expect["then"]] if "then" in expect else []):
        frame = read_frame(sock, buffer)
        # A call the server finished before it met the error may be answered first (PROTOCOL.md §6, §9).
        while (frame is not None and frame.type == FrameType.RESPONSE and frame.stream_id in expect.get("may_answer_first", [])
               and frame.stream_id not in answered_first
               and not (reply["type"] == "RESPONSE" and reply.get("stream_id") == frame.stream_id)):
            answered_first.append(frame.stream_id)
            frame = read_frame(sock, buffer)
        assert frame is not None, f"server closed without {reply['type']}"
        assert FrameType(frame.type).name == reply["type"]
        if "stream_id" in reply:
            assert frame.stream_id == reply["stream_id"]
        if "code" in reply:
            if frame.type == FrameType.GOAWAY:
                code = message_class("lv.rpc.v1.GoAway").FromString(frame.payload).status.code
            else:
                code = frame.meta_message().status.code if frame.meta else 0
            assert code == reply["code"]
        if "last_stream_id" in reply:
            last = message_class("lv.rpc.v1.GoAway").FromString(frame.payload).last_stream_id
            assert last == reply["last_stream_id"]
            assert all(s <= last for s in answered_first), f"answered {answered_first} above last_stream_id {last}"
    if expect["closes"]:
        assert read_frame(sock, buffer) is None
    else:
        sock.sendall(encode_frame(FrameType.PING, 0, payload=b"\x01" * 8))
        assert read_frame(sock, buffer).type == FrameType.PONG
    sock.close()
