"""A minimal ZMTP 3.1 DEALER over a plain TCP socket (stdlib only).

Enough of ZeroMQ's wire protocol (RFC 23 and 37) to talk to the daemon's
ROUTER when pyzmq is not installed, as in the stock GIMP and Krita builds:
the greeting, the NULL security mechanism's READY handshake, multipart
messages with short and long frames, and PING/PONG heartbeats answered.
"""

from __future__ import annotations

import select
import socket
import struct

MORE, LONG, COMMAND = 0x01, 0x02, 0x04
GREETING = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes((3, 1)) + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
MAX_FRAME = 1 << 34  # 16 GiB: refuse a peer that claims more


class ZmtpError(ConnectionError):
    """The connection broke or the peer spoke something other than ZMTP 3."""


def parse_tcp_endpoint(endpoint: str) -> tuple[str, int]:
    if not endpoint.startswith("tcp://"):
        raise ValueError(f"the built-in client speaks tcp:// only, not {endpoint!r}")
    host, _, port = endpoint[6:].rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"endpoint {endpoint!r} is not tcp://HOST:PORT")
    return host.strip("[]"), int(port)


def _command(name: bytes, body: bytes = b"") -> bytes:
    payload = bytes((len(name),)) + name + body
    if len(payload) <= 255:
        return bytes((COMMAND, len(payload))) + payload
    return bytes((COMMAND | LONG,)) + struct.pack(">Q", len(payload)) + payload


def _property(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + struct.pack(">I", len(value)) + value


class ZmtpDealer:
    """One connection to a ROUTER; ``send`` and ``recv`` whole multipart messages."""

    def __init__(self, endpoint: str, connect_timeout: float = 5.0) -> None:
        host, port = parse_tcp_endpoint(endpoint)
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._handshake()
        except BaseException:
            self.sock.close()
            raise
        # Waits between messages go through poll(); this only bounds a stall mid-message.
        self.sock.settimeout(60.0)

    # ------------------------------------------------------------- plumbing

    def _read_exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = self.sock.recv_into(view[got:], min(n - got, 1 << 22))
            except TimeoutError:
                raise ZmtpError("the daemon stopped sending mid-message") from None
            except OSError as exc:
                raise ZmtpError(f"connection to the daemon broke: {exc}") from None
            if k == 0:
                raise ZmtpError("the daemon closed the connection")
            got += k
        return buf

    def _send_all(self, data) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ZmtpError(f"connection to the daemon broke: {exc}") from None

    def _handshake(self) -> None:
        self._send_all(GREETING)
        peer = self._read_exact(64)
        if peer[0] != 0xFF or peer[9] != 0x7F:
            raise ZmtpError("the peer is not a ZeroMQ socket")
        if peer[10] < 3:
            raise ZmtpError(f"the peer speaks ZMTP {peer[10]}, not 3")
        mechanism = bytes(peer[12:32]).rstrip(b"\x00")
        if mechanism != b"NULL":
            raise ZmtpError(
                f"the daemon requires the {mechanism.decode(errors='replace')} security mechanism; "
                "the built-in client only speaks NULL (install pyzmq for CURVE)"
            )
        self._send_all(_command(b"READY", _property(b"Socket-Type", b"DEALER") + _property(b"Identity", b"")))
        flags, body = self._read_frame()
        if not flags & COMMAND or bytes(body[1 : 1 + body[0]]) != b"READY":
            raise ZmtpError("the daemon did not complete the ZMTP handshake")
        props = self._properties(body[1 + body[0] :])
        if props.get(b"Socket-Type") != b"ROUTER":
            raise ZmtpError(
                f"the peer is a {props.get(b'Socket-Type', b'?').decode(errors='replace')} socket, "
                "not the daemon's ROUTER"
            )

    @staticmethod
    def _properties(data: bytes) -> dict:
        props, pos = {}, 0
        while pos < len(data):
            n = data[pos]
            name = bytes(data[pos + 1 : pos + 1 + n])
            pos += 1 + n
            (size,) = struct.unpack(">I", data[pos : pos + 4])
            props[name] = bytes(data[pos + 4 : pos + 4 + size])
            pos += 4 + size
        return props

    def _read_frame(self) -> tuple[int, bytearray]:
        flags = self._read_exact(1)[0]
        if flags & LONG:
            (size,) = struct.unpack(">Q", self._read_exact(8))
        else:
            size = self._read_exact(1)[0]
        if size > MAX_FRAME:
            raise ZmtpError(f"the peer announced a {size}-byte frame")
        return flags, self._read_exact(size)

    # ------------------------------------------------------------------ API

    def send(self, parts: list) -> None:
        """Send a multipart message; parts are bytes-like, large ones are not copied."""
        for i, part in enumerate(parts):
            view = memoryview(part).cast("B")
            flags = MORE if i < len(parts) - 1 else 0
            if view.nbytes > 255:
                self._send_all(bytes((flags | LONG,)) + struct.pack(">Q", view.nbytes))
            else:
                self._send_all(bytes((flags, view.nbytes)))
            self._send_all(view)

    def alive(self) -> bool:
        """False if the peer has closed the connection (seen as EOF waiting to be read)."""
        try:
            if not self.poll(0):
                return True
            return self.sock.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def poll(self, timeout: float) -> bool:
        """True when data is waiting (a message, or a heartbeat to answer)."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        return bool(ready)

    def recv(self, timeout: float) -> list[bytearray] | None:
        """The next message, or None if nothing arrived within ``timeout`` seconds."""
        while True:
            if not self.poll(timeout):
                return None
            parts = []
            while True:
                flags, body = self._read_frame()
                if flags & COMMAND:
                    self._on_command(body)
                    break
                parts.append(body)
                if not flags & MORE:
                    return parts
            # A command (heartbeat) arrived instead of a message: keep waiting.

    def _on_command(self, body: bytearray) -> None:
        name = bytes(body[1 : 1 + body[0]])
        if name == b"PING":
            context = bytes(body[1 + body[0] + 2 :])[:16]  # after the 2-byte TTL
            self._send_all(_command(b"PONG", context))
        elif name == b"ERROR":
            reason = bytes(body[2 + body[0] :]).decode(errors="replace")
            raise ZmtpError(f"the daemon closed the connection: {reason}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
