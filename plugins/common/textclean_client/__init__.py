"""The one client library both editor plugins use to talk to ``textclean-daemon``.

Standard library only, Python 3.8+. It uses pyzmq and msgpack when they
import, and otherwise a built-in ZMTP 3.1 client (``_zmtp``) and msgpack
codec (``_msgpack``), because the stock GIMP and Krita builds ship neither.

    from textclean_client import connect, Image
    with connect() as client:
        mask, cleaned = client.remove_text(Image(w, h, "RGBA", "u8", pixels), progress=print)

Waiting is done in short slices so that ``progress`` can report and
``cancel()`` (from any thread) or a ``progress`` callback returning False can
stop the request; ``timeout`` is the longest silence tolerated, and every
progress message from the daemon restarts it.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from typing import Any, Callable

__all__ = [
    "Image",
    "Client",
    "connect",
    "TextcleanError",
    "DaemonNotRunning",
    "ConnectionLost",
    "Timeout",
    "DaemonError",
    "DEFAULT_ENDPOINT",
    "START_HINT",
    "start_command",
]

DEFAULT_ENDPOINT = "tcp://127.0.0.1:47711"
PROTOCOL_VERSION = 1
CHANNELS = {"RGBA": 4, "BGRA": 4, "RGB": 3, "GRAY": 1, "GRAYA": 2}
ITEMSIZE = {"u8": 1, "u16": 2, "f16": 2, "f32": 4}
START_HINT = (
    "Start it from a terminal with:\n    textclean-daemon start\n"
    "(install it with `pip install textclean`; see the textclean README)."
)


def start_command(endpoint: str | None = None) -> str:
    """``textclean-daemon start``, with ``--endpoint`` when the daemon is looked for anywhere but the default."""
    if endpoint and endpoint != DEFAULT_ENDPOINT:
        return "textclean-daemon start --endpoint " + endpoint
    return "textclean-daemon start"


def _start_hint(endpoint: str) -> str:
    return START_HINT.replace("textclean-daemon start", start_command(endpoint))


Progress = Callable[[float, str], Any]


class TextcleanError(Exception):
    """Base of every error this client raises; ``str()`` is a message for the user."""

    code = "client"


class DaemonNotRunning(TextcleanError):
    code = "not_running"


class ConnectionLost(TextcleanError):
    code = "connection_lost"


class Timeout(TextcleanError):
    code = "timeout"


class DaemonError(TextcleanError):
    """The daemon answered with an error; ``code`` is its stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


class Cancelled(TextcleanError):
    code = "cancelled"


class Image:
    """Pixels plus their format: what goes over the wire, without numpy."""

    def __init__(self, width: int, height: int, layout: str, depth: str, data, stride: int | None = None) -> None:
        if layout not in CHANNELS:
            raise ValueError(f"layout must be one of {', '.join(CHANNELS)}")
        if depth not in ITEMSIZE:
            raise ValueError(f"depth must be one of {', '.join(ITEMSIZE)}")
        self.width, self.height, self.layout, self.depth = int(width), int(height), layout, depth
        self.stride = int(stride) if stride else self.row_bytes
        self.data = data
        need = self.stride * (self.height - 1) + self.row_bytes
        if memoryview(data).nbytes < need:
            raise ValueError(
                f"{memoryview(data).nbytes} bytes of pixels; {width}×{height} {layout} {depth} needs {need}"
            )

    @property
    def row_bytes(self) -> int:
        return self.width * CHANNELS[self.layout] * ITEMSIZE[self.depth]

    def spec(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "layout": self.layout,
            "depth": self.depth,
            "stride": self.stride,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], data) -> "Image":
        return cls(spec["width"], spec["height"], spec["layout"], spec["depth"], data, spec.get("stride"))

    def __repr__(self) -> str:
        return f"Image({self.width}×{self.height} {self.layout} {self.depth})"


# ---------------------------------------------------------------- codecs

try:
    import msgpack as _msgpack_lib

    def _pack(obj: Any) -> bytes:
        return _msgpack_lib.packb(obj, use_bin_type=True)

    def _unpack(data) -> Any:
        return _msgpack_lib.unpackb(bytes(data), raw=False)
except ImportError:  # the editors' embedded Python
    from . import _msgpack as _builtin_msgpack

    _pack, _unpack = _builtin_msgpack.packb, _builtin_msgpack.unpackb


# ------------------------------------------------------------ transports


class _PyzmqTransport:
    name = "pyzmq"

    def __init__(self, endpoint: str, curve: dict[str, bytes] | None = None) -> None:
        import zmq

        self._zmq = zmq
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        # libzmq restarts this timeout only when a whole frame has arrived, and
        # a reply of some hundred MB can take seconds on a busy machine; a dead
        # daemon shows up at once as a disconnect anyway.
        self.sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 60_000)
        if curve:
            self.sock.curve_serverkey = curve["server_public"]
            self.sock.curve_publickey = curve["client_public"]
            self.sock.curve_secretkey = curve["client_secret"]
        # Disconnects are how a killed daemon shows up: watch for them.
        self.monitor = self.sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self.sock.connect(endpoint)

    def healthy(self) -> bool:
        # A disconnect seen between calls is history: ZeroMQ reconnects by itself.
        while self.monitor.poll(0):
            self.monitor.recv_multipart()
        return True

    def send(self, parts: list) -> None:
        self.sock.send_multipart(parts, copy=False)

    def recv(self, timeout: float) -> list | None:
        zmq = self._zmq
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        events = dict(poller.poll(int(timeout * 1000)))
        if self.sock in events:
            return [f.buffer for f in self.sock.recv_multipart(copy=False)]
        if self.monitor in events:
            self.monitor.recv_multipart()
            raise ConnectionLost("the daemon closed the connection (it stopped or crashed)")
        return None

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(0)
        self.sock.close(0)


class _BuiltinTransport:
    name = "builtin"

    def __init__(self, endpoint: str, curve: dict[str, bytes] | None = None) -> None:
        from ._zmtp import ZmtpDealer

        if curve:
            raise TextcleanError("CURVE authentication needs pyzmq; the built-in client speaks only NULL")
        self.dealer = ZmtpDealer(endpoint)

    def healthy(self) -> bool:
        return self.dealer.alive()

    def send(self, parts: list) -> None:
        from ._zmtp import ZmtpError

        try:
            self.dealer.send(parts)
        except ZmtpError as exc:
            raise ConnectionLost(str(exc)) from None

    def recv(self, timeout: float) -> list | None:
        from ._zmtp import ZmtpError

        try:
            return self.dealer.recv(timeout)
        except ZmtpError as exc:
            raise ConnectionLost(f"{exc} (it stopped or crashed)") from None

    def close(self) -> None:
        self.dealer.close()


def _pyzmq_available() -> bool:
    try:
        import zmq  # noqa: F401
    except ImportError:
        return False
    return True


def _probe(endpoint: str, timeout: float = 2.0) -> None:
    """Raise DaemonNotRunning if nothing listens on a tcp:// endpoint."""
    if not endpoint.startswith("tcp://"):
        return
    from ._zmtp import parse_tcp_endpoint

    host, port = parse_tcp_endpoint(endpoint)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        raise DaemonNotRunning(f"The textclean daemon is not running at {endpoint}.\n{_start_hint(endpoint)}") from None


# ----------------------------------------------------------------- client


class Client:
    """A connection to the daemon. Calls block; ``cancel()`` may come from another thread."""

    def __init__(
        self,
        endpoint: str | None = None,
        timeout: float = 60.0,
        transport: str = "auto",
        curve: dict[str, bytes] | None = None,
    ) -> None:
        self.endpoint = endpoint or os.environ.get("TEXTCLEAN_ENDPOINT") or DEFAULT_ENDPOINT
        self.timeout = timeout
        if transport == "auto":
            transport = "pyzmq" if _pyzmq_available() else "builtin"
        if transport not in ("pyzmq", "builtin"):
            raise ValueError("transport must be auto, pyzmq or builtin")
        self.transport_name = transport
        self._curve = curve
        self._transport = None
        self._ids = itertools.count(1)
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    # --------------------------------------------------------- connection

    def _connect(self):
        if self._transport is None:
            _probe(self.endpoint)
            cls = _PyzmqTransport if self.transport_name == "pyzmq" else _BuiltinTransport
            try:
                self._transport = cls(self.endpoint, self._curve)
            except OSError as exc:  # refused, timed out, unreachable: all mean no daemon answers there
                raise DaemonNotRunning(
                    f"The textclean daemon is not running at {self.endpoint} ({exc}).\n{_start_hint(self.endpoint)}"
                ) from None
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cancel(self) -> None:
        """Ask the daemon to stop the request in flight (safe from any thread)."""
        self._cancel.set()

    # ------------------------------------------------------------ requests

    def _call(
        self,
        op: str,
        fields: dict[str, Any] | None = None,
        frames: tuple = (),
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> tuple[dict, list]:
        with self._lock:
            self._cancel.clear()
            rid = next(self._ids)
            header = {"v": PROTOCOL_VERSION, "id": rid, "op": op}
            header.update(fields or {})
            parts = [_pack(header), *frames]
            try:
                transport = self._connect()
                if not transport.healthy():
                    raise ConnectionLost("stale connection")
                transport.send(parts)
            except ConnectionLost:
                # The daemon restarted since our last call: reconnect once and resend.
                self.close()
                transport = self._connect()
                transport.send(parts)
            try:
                return self._wait(transport, rid, op, progress, timeout or self.timeout)
            except (ConnectionLost, Timeout, Cancelled):
                self.close()  # the stream may hold a half-read reply: start afresh next time
                raise

    def _wait(self, transport, rid: int, op: str, progress: Progress | None, timeout: float) -> tuple[dict, list]:
        deadline = time.monotonic() + timeout
        cancel_sent = False
        while True:
            if self._cancel.is_set() and not cancel_sent:
                transport.send([_pack({"v": PROTOCOL_VERSION, "id": f"cancel-{rid}", "op": "cancel", "target": rid})])
                cancel_sent = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if _probe_quiet(self.endpoint):
                    raise Timeout(f"the daemon sent nothing for {timeout:.0f} s during {op}")
                raise ConnectionLost(
                    f"the daemon at {self.endpoint} went away during {op}.\n{_start_hint(self.endpoint)}"
                )
            parts = transport.recv(min(0.1, remaining))
            if parts is None:
                continue
            try:
                reply = _unpack(parts[0])
            except Exception:
                continue  # not ours to understand; keep waiting for our reply
            if not isinstance(reply, dict) or reply.get("id") != rid:
                continue  # a late reply to a request we gave up on
            deadline = time.monotonic() + timeout
            if reply.get("type") == "progress":
                if (
                    progress is not None
                    and progress(float(reply.get("progress", 0.0)), str(reply.get("stage", ""))) is False
                ):
                    self._cancel.set()
                continue
            if reply.get("ok"):
                return reply, list(parts[1:])
            err = reply.get("error") or {}
            if err.get("code") == "cancelled":
                raise Cancelled("cancelled")
            raise DaemonError(str(err.get("code", "internal")), str(err.get("message", "unknown error")))

    def hello(self) -> dict[str, Any]:
        return self._call("hello")[0]

    def ping(self, timeout: float = 5.0) -> bool:
        return bool(self._call("ping", timeout=timeout)[0].get("pong"))

    def status(self) -> dict[str, Any]:
        return self._call("status")[0]

    @staticmethod
    def _image_fields(image: Image, region: Image | None, region_key: str) -> tuple[dict, tuple]:
        fields: dict[str, Any] = {"image": image.spec()}
        frames = [image.data]
        if region is not None:
            fields[region_key] = region.spec()
            frames.append(region.data)
        return fields, tuple(frames)

    def segment(
        self,
        image: Image,
        region: Image | None = None,
        params: dict | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> Image:
        """The text mask (GRAY u8, 255 = text) of ``image``, looking only inside ``region`` if given."""
        fields, frames = self._image_fields(image, region, "region")
        fields["params"] = params or {}
        reply, data = self._call("segment", fields, frames, progress, timeout)
        return Image.from_spec(reply["mask"], data[0])

    def inpaint(
        self,
        image: Image,
        mask: Image,
        params: dict | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> Image:
        """``image`` with the pixels under ``mask`` (GRAY u8, nonzero) repainted; same layout and depth."""
        fields, frames = self._image_fields(image, mask, "mask")
        fields["params"] = params or {}
        reply, data = self._call("inpaint", fields, frames, progress, timeout)
        return Image.from_spec(reply["image"], data[0])

    def remove_text(
        self,
        image: Image,
        region: Image | None = None,
        params: dict | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> tuple[Image, Image]:
        """(mask, cleaned image): find the text, inside ``region`` if given, and inpaint it."""
        fields, frames = self._image_fields(image, region, "region")
        fields["params"] = params or {}
        reply, data = self._call("remove_text", fields, frames, progress, timeout)
        return Image.from_spec(reply["mask"], data[0]), Image.from_spec(reply["image"], data[1])


def _probe_quiet(endpoint: str) -> bool:
    try:
        _probe(endpoint, timeout=1.0)
        return True
    except DaemonNotRunning:
        return False


def connect(
    endpoint: str | None = None, timeout: float = 60.0, transport: str = "auto", curve: dict[str, bytes] | None = None
) -> Client:
    """A client for the daemon at ``endpoint`` (default: $TEXTCLEAN_ENDPOINT or tcp://127.0.0.1:47711).

    Raises DaemonNotRunning, with the command that starts it, if nothing listens there.
    """
    client = Client(endpoint, timeout, transport, curve)
    client._connect()
    return client
