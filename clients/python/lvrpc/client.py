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


class _Connection:
    """One TCP connection after HELLO: its streams, its reader thread, and whether it is done
    (closed, or the server sent GOAWAY: no new call may start on it)."""

    def __init__(self, host, port, credential, client_name, timeout, ssl_context):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.sock.settimeout(None)
        self.lock = threading.Lock()
        self.pending = {}
        self.next_stream = 1
        self.closed = False
        self.goaway = None
        self._pong = None
        Hello = message_class("lv.rpc.v1.Hello")
        self._hello_ack = Future()
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()
        try:
            self.send(encode_frame(FrameType.HELLO, 0, payload=Hello(protocol_version=1, credential=credential,
                                                                      client_name=client_name)))
            self.hello_ack = self._hello_ack.result(timeout)
        except BaseException:
            self.close()
            raise

    @property
    def usable(self):
        return not self.closed and self.goaway is None

    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def start(self, method, meta, request):
        """Sends a REQUEST on a new stream; returns (stream id, future of the payload).
        Raises a retryable UNAVAILABLE when the connection can take no new call (nothing was sent)."""
        future = Future()
        with self.lock:
            if self.closed or self.goaway is not None:
                raise RPCError(StatusCode.UNAVAILABLE, "connection is closing", retryable=True)
            stream_id = self.next_stream
            self.next_stream += 1
            self.pending[stream_id] = future
            try:
                self.sock.sendall(encode_frame(FrameType.REQUEST, stream_id, meta=meta, payload=request))
            except OSError as e:
                # Whether the server got the frame is unknown: not retryable.
                self.pending.pop(stream_id, None)
                raise RPCError(StatusCode.UNAVAILABLE, f"connection lost while sending: {e}")
        return stream_id, future

    def cancel(self, stream_id):
        with self.lock:
            self.pending.pop(stream_id, None)
            try:
                self.sock.sendall(encode_frame(FrameType.CANCEL, stream_id))
            except OSError:
                pass

    def ping(self, data, timeout):
        self._pong = Future()
        self.send(encode_frame(FrameType.PING, 0, payload=data))
        return self._pong.result(timeout)

    def _read_loop(self):
        buffer = bytearray()
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                for frame in decode_frames(buffer):
                    self._handle(frame)
        except OSError:
            pass
        finally:
            # A call still waiting may have run on the server: UNAVAILABLE, not retryable.
            self._fail_all(RPCError(StatusCode.UNAVAILABLE, "connection closed"))

    def _handle(self, frame):
        if frame.type == FrameType.HELLO_ACK:
            self._hello_ack.set_result(message_class("lv.rpc.v1.HelloAck").FromString(frame.payload))
        elif frame.type == FrameType.RESPONSE:
            with self.lock:
                future = self.pending.pop(frame.stream_id, None)
            if future is None:
                return
            status = frame.meta_message().status if frame.meta else None
            if status is not None and status.code != StatusCode.OK:
                future.set_exception(RPCError(status.code, status.message, status.violations, status.retryable,
                                              status.retry_after_ms))
            else:
                future.set_result(frame.payload)
        elif frame.type == FrameType.PING:
            self.send(encode_frame(FrameType.PONG, 0, payload=frame.payload))
        elif frame.type == FrameType.PONG:
            pong = self._pong
            if pong is not None and not pong.done():
                pong.set_result(frame.payload)
        elif frame.type == FrameType.GOAWAY:
            goaway = message_class("lv.rpc.v1.GoAway").FromString(frame.payload)
            error = RPCError(goaway.status.code, goaway.status.message, retryable=True)
            if not self._hello_ack.done():
                self._hello_ack.set_exception(error)
            with self.lock:
                self.goaway = goaway
                lost = [s for s in self.pending if s > goaway.last_stream_id]
                futures = [self.pending.pop(s) for s in lost]
            # The server will not process these (PROTOCOL.md): safe to send again, on a new connection.
            for f in futures:
                f.set_exception(RPCError(StatusCode.UNAVAILABLE, "not processed before GOAWAY", retryable=True))

    def _fail_all(self, error):
        with self.lock:
            self.closed = True
            futures = list(self.pending.values())
            self.pending.clear()
        if not self._hello_ack.done():
            self._hello_ack.set_exception(error)
        for f in futures:
            if not f.done():
                f.set_exception(error)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.reader is not threading.current_thread():
            self.reader.join(timeout=5)


class Client:
    """A client of one server address: HELLO on connect, then calls (several may be in flight from threads).

    After the server sends GOAWAY (it is draining or restarting) or the connection is lost, the
    next call opens a new connection (with HELLO) transparently. Calls already sent are never sent
    again unless the server refused them as retryable — those above GOAWAY's `last_stream_id`, or
    refusals marked retryable — since a call whose answer was lost may have run.

    Security options go here: `credential` is sent in HELLO (docs/PROTOCOL.md §2); `ssl_context`
    (an ssl.SSLContext) wraps the connection in TLS where the server offers it. `timeout` bounds
    connecting and HELLO; each call has its own deadline (`default_timeout` when not given).
    """

    def __init__(self, host, port, credential="", client_name="python-lvrpc/0.2", timeout=10.0, ssl_context=None,
                 default_timeout=10.0, default_retries=2):
        self._address = (host, port)
        self._connect_options = dict(credential=credential, client_name=client_name, ssl_context=ssl_context)
        self.connect_timeout = timeout
        self.default_timeout = default_timeout
        self.default_retries = default_retries
        self._connect_lock = threading.Lock()
        self._shut = False
        #: How many connections this client has opened (1 until a reconnect).
        self.connections = 0
        self._conn = self._open(timeout)

    def _open(self, timeout):
        conn = _Connection(*self._address, timeout=timeout, **self._connect_options)
        self.connections += 1
        return conn

    def _connection(self, timeout):
        """The current connection, or a new one when the current one has had GOAWAY or is closed."""
        with self._connect_lock:
            if self._shut:
                raise RPCError(StatusCode.UNAVAILABLE, "client is closed")
            old = self._conn
            if old.usable:
                return old
            try:
                self._conn = self._open(min(timeout, self.connect_timeout))
            except (OSError, TimeoutError, RPCError) as e:
                code = e.code if isinstance(e, RPCError) else StatusCode.UNAVAILABLE
                # Nothing was sent: a failed connect is safe to try again within the deadline.
                raise RPCError(code, f"reconnecting to {self._address[0]}:{self._address[1]}: {e}", retryable=True) from e
            if old.closed:
                old.close()
            else:
                # Calls at or below last_stream_id still finish on it; it closes when the server closes it.
                threading.Thread(target=self._close_when_drained, args=(old,), daemon=True).start()
            return self._conn

    @staticmethod
    def _close_when_drained(conn):
        conn.reader.join()
        conn.close()

    @property
    def goaway(self):
        """The GOAWAY of the current connection, or None (a new call replaces such a connection)."""
        return self._conn.goaway

    @property
    def hello_ack(self):
        return self._conn.hello_ack

    @property
    def _next_stream(self):
        return self._conn.next_stream

    def call(self, method, request, response_type, timeout=None, metadata=None, retries=None):
        """Calls `method` ("pkg.Service/Method"); returns the response message or raises RPCError.

        `response_type` is a message class or its full name. `timeout` (seconds) is the deadline for
        the whole call, retries included; the server gets the time remaining. A refusal the server
        marks retryable (it certainly did not run the call: overloaded, draining, above GOAWAY's
        last_stream_id) is sent again up to `retries` times (default 2) within the deadline, after
        the server's retry_after_ms or a short backoff, on a new connection where the old one is
        going away. Other failures are never retried here: see docs/INTEGRATING.md for which calls
        are safe to repeat with the same request_id.
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
        started = time.monotonic()
        conn = self._connection(timeout)
        remaining = max(0.001, timeout - (time.monotonic() - started))
        meta = FrameMeta(method=method, timeout_ms=max(1, int(remaining * 1000)), metadata=metadata or {})
        stream_id, future = conn.start(method, meta, request)
        try:
            payload = future.result(remaining)
        except TimeoutError:
            conn.cancel(stream_id)
            raise RPCError(StatusCode.DEADLINE_EXCEEDED, "no answer before the deadline")
        cls = message_class(response_type) if isinstance(response_type, str) else response_type
        return cls.FromString(payload)

    def ping(self, data=b"pingpong", timeout=5.0):
        return self._connection(timeout).ping(data, timeout)

    def close(self):
        with self._connect_lock:
            self._shut = True
            conn = self._conn
        conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(address, **options):
    """A Client for "HOST:PORT" (options as for Client)."""
    host, _, port = address.rpartition(":")
    return Client(host or "127.0.0.1", int(port), **options)
