"""A blocking client with a reader thread, so many calls can be in flight on one connection."""
import os
import socket
import threading
import time
from concurrent.futures import Future

from .protocol import FrameType, StatusCode, decode_frames, encode_frame, message_class


class RPCError(Exception):
    """A call failed with a status (docs/PROTOCOL.md §4)."""

    def __init__(self, code, message, violations=(), retryable=False, retry_after_ms=0):
        super().__init__(f"{StatusCode(code).name if code in StatusCode._value2member_map_ else code}: {message}")
        self.code = code
        self.message = message
        self.violations = list(violations)
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms

    @property
    def name(self):
        """The status code's name ("INVALID_ARGUMENT")."""
        return StatusCode(self.code).name if self.code in StatusCode._value2member_map_ else str(self.code)


class Client:
    """One connection to a server: HELLO on connect, then calls (several may be in flight from threads).

    Security options go here: `credential` is sent in HELLO (docs/PROTOCOL.md §2); `ssl_context`
    (an ssl.SSLContext) wraps the connection in TLS where the server offers it. `timeout` bounds
    connecting and HELLO; each call has its own deadline (`default_timeout` when not given).
    """

    def __init__(self, host, port, credential="", client_name="python-lvrpc/0.2", timeout=10.0, ssl_context=None,
                 default_timeout=10.0, default_retries=2):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self.default_timeout = default_timeout
        self.default_retries = default_retries
        self._sock.settimeout(None)
        self._lock = threading.Lock()
        self._pending = {}
        self._next_stream = 1
        self._closed = False
        self.goaway = None
        Hello = message_class("lv.rpc.v1.Hello")
        self._hello_ack = Future()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._send(encode_frame(FrameType.HELLO, 0, payload=Hello(protocol_version=1, credential=credential,
                                                                   client_name=client_name)))
        self.hello_ack = self._hello_ack.result(timeout)

    def _send(self, data):
        with self._lock:
            self._sock.sendall(data)

    def call(self, method, request, response_type, timeout=None, metadata=None, retries=None):
        """Calls `method` ("pkg.Service/Method"); returns the response message or raises RPCError.

        `response_type` is a message class or its full name. `timeout` (seconds) is the deadline for
        the whole call, retries included; the server gets the time remaining. A refusal the server
        marks retryable (it certainly did not run the call: overloaded, draining) is sent again up
        to `retries` times (default 2) within the deadline, after the server's retry_after_ms or a
        short backoff. Other failures are never retried here: see docs/INTEGRATING.md for which
        calls are safe to repeat with the same request_id.
        """
        timeout = self.default_timeout if timeout is None else timeout
        retries = self.default_retries if retries is None else retries
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            try:
                return self._call_once(method, request, response_type, max(0.001, deadline - time.monotonic()), metadata)
            except RPCError as e:
                pause = (e.retry_after_ms / 1000.0) if e.retry_after_ms else 0.05 * (2 ** attempt)
                if not e.retryable or attempt >= retries or time.monotonic() + pause >= deadline:
                    raise
                attempt += 1
                time.sleep(pause)

    def _call_once(self, method, request, response_type, timeout, metadata):
        FrameMeta = message_class("lv.rpc.v1.FrameMeta")
        meta = FrameMeta(method=method, timeout_ms=max(1, int(timeout * 1000)), metadata=metadata or {})
        future = Future()
        with self._lock:
            if self._closed or self.goaway is not None:
                raise RPCError(StatusCode.UNAVAILABLE, "connection is closing", retryable=False)
            stream_id = self._next_stream
            self._next_stream += 1
            self._pending[stream_id] = future
            self._sock.sendall(encode_frame(FrameType.REQUEST, stream_id, meta=meta, payload=request))
        try:
            payload = future.result(timeout)
        except TimeoutError:
            with self._lock:
                self._pending.pop(stream_id, None)
                self._sock.sendall(encode_frame(FrameType.CANCEL, stream_id))
            raise RPCError(StatusCode.DEADLINE_EXCEEDED, "no answer before the deadline")
        cls = message_class(response_type) if isinstance(response_type, str) else response_type
        return cls.FromString(payload)

    def ping(self, data=b"pingpong", timeout=5.0):
        self._pong = Future()
        self._send(encode_frame(FrameType.PING, 0, payload=data))
        return self._pong.result(timeout)

    def _read_loop(self):
        buffer = bytearray()
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                for frame in decode_frames(buffer):
                    self._handle(frame)
        except OSError:
            pass
        finally:
            self._fail_all(RPCError(StatusCode.UNAVAILABLE, "connection closed"))

    def _handle(self, frame):
        if frame.type == FrameType.HELLO_ACK:
            self._hello_ack.set_result(message_class("lv.rpc.v1.HelloAck").FromString(frame.payload))
        elif frame.type == FrameType.RESPONSE:
            with self._lock:
                future = self._pending.pop(frame.stream_id, None)
            if future is None:
                return
            status = frame.meta_message().status if frame.meta else None
            if status is not None and status.code != StatusCode.OK:
                future.set_exception(RPCError(status.code, status.message, status.violations, status.retryable,
                                              status.retry_after_ms))
            else:
                future.set_result(frame.payload)
        elif frame.type == FrameType.PING:
            self._send(encode_frame(FrameType.PONG, 0, payload=frame.payload))
        elif frame.type == FrameType.PONG:
            pong = getattr(self, "_pong", None)
            if pong is not None and not pong.done():
                pong.set_result(frame.payload)
        elif frame.type == FrameType.GOAWAY:
            goaway = message_class("lv.rpc.v1.GoAway").FromString(frame.payload)
            self.goaway = goaway
            error = RPCError(goaway.status.code, goaway.status.message, retryable=True)
            if not self._hello_ack.done():
                self._hello_ack.set_exception(error)
            with self._lock:
                lost = [s for s in self._pending if s > goaway.last_stream_id]
                futures = [self._pending.pop(s) for s in lost]
            for f in futures:
                f.set_exception(RPCError(StatusCode.UNAVAILABLE, "not processed before GOAWAY", retryable=True))

    def _fail_all(self, error):
        with self._lock:
            self._closed = True
            futures = list(self._pending.values())
            self._pending.clear()
        if not self._hello_ack.done():
            self._hello_ack.set_exception(error)
        for f in futures:
            if not f.done():
                f.set_exception(error)

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(address, **options):
    """A Client for "HOST:PORT" (options as for Client)."""
    host, _, port = address.rpartition(":")
    return Client(host or "127.0.0.1", int(port), **options)
