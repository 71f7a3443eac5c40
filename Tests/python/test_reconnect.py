"""The Python client reconnects transparently after GOAWAY or a lost connection, and sends a call
again only when the server refused it as retryable (a stream above GOAWAY's last_stream_id).
Against a scripted server (exact frames) and against a real lv-registration restarted on its port."""
import socket
import threading

import pytest

from conftest import RunningServer
from lvrpc.client import Client, RPCError
from lvrpc.protocol import FrameType, StatusCode, decode_frames, encode_frame, message_class

CHECK = "lv.health.v1.Health/Check"
Req = message_class("lv.health.v1.HealthCheckRequest")
Resp = message_class("lv.health.v1.HealthCheckResponse")


class ScriptedServer:
    """Connection i (in the order they arrive) runs scripts[i](conn), each on its own thread, after HELLO."""

    def __init__(self, scripts):
        self.scripts = scripts
        self.requests = []  # (connection index, stream id) of every REQUEST received, in order
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.errors = []
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        for index, script in enumerate(self.scripts):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._run, args=(sock, index, script), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, sock, index, script):
        try:
            with sock:
                sock.settimeout(10)
                conn = ScriptedConnection(sock, index, self)
                conn.handshake()
                script(conn)
        except Exception as e:  # surfaced by the test
            self.errors.append(e)

    def close(self):
        self.listener.close()
        for t in self.threads:
            t.join(timeout=15)


class ScriptedConnection:
    def __init__(self, sock, index, server):
        self.sock, self.index, self.server = sock, index, server
        self.buffer = bytearray()
        self.ready = []

    def frame(self):
        """The next frame from the client, or None at end of stream."""
        while not self.ready:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
            self.ready += decode_frames(self.buffer)
        f = self.ready.pop(0)
        if f.type == FrameType.REQUEST:
            self.server.requests.append((self.index, f.stream_id))
        return f

    def handshake(self):
        hello = self.frame()
        assert hello.type == FrameType.HELLO
        ack = message_class("lv.rpc.v1.HelloAck")(protocol_version=1, server_name=f"scripted-{self.index}",
                                                  max_concurrent_streams=100, max_frame_size=1 << 20)
        self.sock.sendall(encode_frame(FrameType.HELLO_ACK, 0, payload=ack))

    def answer(self, stream_id, status=1):
        self.sock.sendall(encode_frame(FrameType.RESPONSE, stream_id, payload=Resp(status=status)))

    def goaway(self, last_stream_id):
        g = message_class("lv.rpc.v1.GoAway")(last_stream_id=last_stream_id,
                                              status={"code": int(StatusCode.UNAVAILABLE), "message": "draining"})
        self.sock.sendall(encode_frame(FrameType.GOAWAY, 0, payload=g))


def test_a_call_refused_by_goaway_is_sent_again_on_a_new_connection():
    def first(c):
        r = c.frame()
        c.answer(r.stream_id)             # call 1 answered
        r2 = c.frame()                    # call 2 arrives, but the server is going away: it will not run it
        assert r2.stream_id == 2
        c.goaway(last_stream_id=1)
        c.sock.shutdown(socket.SHUT_WR)
        while c.frame() is not None:      # the client may not send on this connection any more
            raise AssertionError("a REQUEST after GOAWAY on the old connection")

    def second(c):
        r = c.frame()
        c.answer(r.stream_id, status=1)
        r = c.frame()
        c.answer(r.stream_id, status=1)

    server = ScriptedServer([first, second])
    try:
        with Client("127.0.0.1", server.port, timeout=5) as client:
            assert client.call(CHECK, Req(), Resp, timeout=5).status == 1
            assert client.call(CHECK, Req(), Resp, timeout=5).status == 1   # refused, then resent transparently
            assert client.connections == 2 and client.hello_ack.server_name == "scripted-1"
            assert client.call(CHECK, Req(), Resp, timeout=5).status == 1   # a new call uses the new connection
    finally:
        server.close()
    assert not server.errors, server.errors
    # Stream 2 was refused (above last_stream_id 1), so it was sent again, on connection 1 as its stream 1.
    assert server.requests == [(0, 1), (0, 2), (1, 1), (1, 2)]


def test_a_call_at_or_below_last_stream_id_finishes_on_the_old_connection_while_new_calls_go_to_a_new_one():
    in_flight = threading.Event()

    def first(c):
        r = c.frame()                     # stream 1, in flight
        c.goaway(last_stream_id=1)        # it will still be answered
        in_flight.wait(10)
        c.answer(r.stream_id, status=1)
        c.sock.shutdown(socket.SHUT_WR)
        assert c.frame() is None

    def second(c):
        r = c.frame()
        c.answer(r.stream_id, status=2)
        in_flight.set()

    server = ScriptedServer([first, second])
    try:
        with Client("127.0.0.1", server.port, timeout=5) as client:
            result = {}
            t = threading.Thread(target=lambda: result.setdefault("old", client.call(CHECK, Req(), Resp, timeout=10)))
            t.start()
            while client.goaway is None:
                threading.Event().wait(0.01)
            # The new call does not wait for the draining connection and is not refused.
            assert client.call(CHECK, Req(), Resp, timeout=5).status == 2
            t.join(10)
            assert result["old"].status == 1
            assert client.connections == 2
    finally:
        server.close()
    assert not server.errors, server.errors
    assert server.requests == [(0, 1), (1, 1)]


def test_a_call_lost_with_its_connection_is_not_sent_again_but_the_next_call_reconnects():
    def first(c):
        c.frame()                         # the call arrives (it may have run) and the connection drops
        c.sock.shutdown(socket.SHUT_RDWR)

    def second(c):
        r = c.frame()
        c.answer(r.stream_id)

    server = ScriptedServer([first, second])
    try:
        with Client("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(RPCError) as e:
                client.call(CHECK, Req(), Resp, timeout=5)
            assert e.value.code == StatusCode.UNAVAILABLE and not e.value.retryable
            assert client.call(CHECK, Req(), Resp, timeout=5).status == 1
            assert client.connections == 2
    finally:
        server.close()
    assert not server.errors, server.errors
    assert server.requests == [(0, 1), (1, 1)], "the lost call must not be resent"


def test_the_client_survives_a_real_server_restart_on_the_same_port(tmp_path):
    first = RunningServer("lv-registration", tmp_path / "a")
    port = first.port
    client = Client(first.host, port, timeout=5)
    try:
        assert client.call(CHECK, Req(), Resp, timeout=5).status == 1
        assert first.stop() == 0          # SIGTERM: GOAWAY on the connection, then exit
        second = RunningServer("lv-registration", tmp_path / "b", listen=f"127.0.0.1:{port}")
        try:
            assert client.call(CHECK, Req(), Resp, timeout=10).status == 1
            assert client.connections == 2
        finally:
            assert second.stop() == 0
    finally:
        client.close()
