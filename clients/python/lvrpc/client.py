"""A blocking client with a reader thread, so many calls can be in flight on one connection."""
import os
import socket
import ssl
import threading
from concurrent.futures import Future

from .protocol import FrameType, StatusCode, decode_frames, encode_frame, message_class


class RPCError(Exception):
    """A call failed with a status (docs/PROTOCOL.md §4)."""

    def __init__(self, code, message, violations=(), retryable=False):
        super().__init__(f"{StatusCode(code).name if code in StatusCode._value2member_map_ else code}: {message}")
        self.code = code
        self.message = message
        self.violations = list(violations)
        self.retryable = retryable


class Client:
    def __init__(self, host, port, credential="", client_name="python-lvrpc/0.1", timeout=10.0,
                 tls=False, tls_ca=None, tls_cert=None, tls_key=None, credential_file=None):
        """`credential`: the API key presented in HELLO (or `credential_file`, a file holding it).
        TLS when `tls` or `tls_ca` is given: `tls_ca` the CA file to trust (default: the system's),
        `tls_cert`/`tls_key` a client certificate for servers that require one (docs/SECURITY.md)."""
        if credential_file:
            with open(credential_file) as f:
                credential = f.read().strip()
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls or tls_ca or tls_cert:
            context = ssl.create_default_context(cafile=tls_ca)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if tls_cert:
                context.load_cert_chain(tls_cert, tls_key)
            sock = context.wrap_socket(sock, server_hostname=host)
        self._sock = sock
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

    def call(self, method, request, response_type, timeout=10.0, metadata=None):
        """Calls `method` ("pkg.Service/Method"); returns the decoded response or raises RPCError."""
        FrameMeta = message_class("lv.rpc.v1.FrameMeta")
        meta = FrameMeta(method=method, timeout_ms=int(timeout * 1000), metadata=metadata or {})
        future = Future()
        with self._lock:
            if self._closed or self.goaway is not None:
                raise RPCError(StatusCode.UNAVAILABLE, "connection is closing", retryable=True)
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
        return message_class(response_type).FromString(payload)

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
                future.set_exception(RPCError(status.code, status.message, status.violations, status.retryable))
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
