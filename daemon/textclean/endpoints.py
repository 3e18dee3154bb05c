"""Endpoints: which ones the daemon may bind, how a client reaches them, and the CURVE keys they need.

The rule for binding: loopback endpoints (127.0.0.0/8, ::1, localhost, ipc://)
are open to the user's own programs; anything else, wildcards ``*``,
``0.0.0.0`` and ``[::]`` included, is reachable from the network and is
refused unless CURVE keys have been made with ``textclean-daemon keys``.
A wildcard is bound as given but reached through loopback.

No torch, no numpy: the light ``textclean-daemon`` commands import this.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from textclean_client import DEFAULT_ENDPOINT

KEYS_HINT = "make keys with `textclean-daemon keys`, or use a 127.0.0.1 endpoint"
_WILDCARDS = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class EndpointError(ValueError):
    """An endpoint that cannot be used as written; ``str()`` is one line for the user."""


class EndpointBusy(RuntimeError):
    """Another process is bound to the endpoint."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(
            f"{endpoint} is already in use (another textclean daemon? try `{command('status', endpoint)}`)"
        )


class InsecureEndpoint(RuntimeError):
    """A non-loopback endpoint was asked for without CURVE keys."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(
            f"refusing to listen on {endpoint} without authentication: anyone on the network could use it; {KEYS_HINT}"
        )


@dataclass
class CurveKeys:
    """Server key pair and the folder of authorised client public keys (zmq.auth format)."""

    public: bytes
    secret: bytes
    clients_dir: str


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint: ``scheme`` is tcp or ipc; ``host`` and ``port`` are set for tcp."""

    text: str
    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""


def parse(endpoint: str) -> Endpoint:
    """Check the form of ``endpoint``; raises EndpointError with one line saying what is wrong."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme not in ("tcp", "ipc"):
        raise EndpointError(
            f"cannot use endpoint {endpoint!r}: write tcp://HOST:PORT (such as {DEFAULT_ENDPOINT}) or ipc:///PATH"
        )
    if scheme == "ipc":
        if not rest:
            raise EndpointError(f"cannot use endpoint {endpoint!r}: ipc:// needs a socket path")
        return Endpoint(endpoint, "ipc", path=rest)
    m = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]/]+):(\d{1,5})", rest)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise EndpointError(
            f"cannot use endpoint {endpoint!r}: write tcp://HOST:PORT with a port from 1 to "
            f"65535 (such as {DEFAULT_ENDPOINT})"
        )
    return Endpoint(endpoint, "tcp", m.group(1).strip("[]"), int(m.group(2)))


def is_loopback(endpoint: str) -> bool:
    """True for ipc://, inproc:// and tcp:// on 127.0.0.0/8, ::1 or localhost; False for wildcards."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = rest.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(endpoint: str) -> bool:
    ep = parse(endpoint)
    return ep.scheme == "tcp" and ep.host in _WILDCARDS


def connect_address(endpoint: str) -> str:
    """Where a client on this machine reaches a daemon bound to ``endpoint`` (a wildcard: through loopback)."""
    ep = parse(endpoint)
    if ep.scheme == "tcp" and ep.host in _WILDCARDS:
        host = _WILDCARDS[ep.host]
        return f"tcp://[{host}]:{ep.port}" if ":" in host else f"tcp://{host}:{ep.port}"
    return endpoint


def state_key(endpoint: str) -> str:
    """The name a daemon's pid, lock and log files carry: its port, or a digest of its ipc path.

    One daemon per port and user: two daemons on one port would fight over it
    even on different addresses (a wildcard takes them all), so ``status`` and
    ``stop`` find the daemon on a port whichever address of it they are given.
    """
    ep = parse(endpoint)
    if ep.scheme == "tcp":
        return str(ep.port)
    import hashlib

    return "ipc-" + hashlib.sha256(ep.path.encode()).hexdigest()[:12]


def command(verb: str, endpoint: str, *extra: str) -> str:
    """The ``textclean-daemon`` command line for ``verb`` on ``endpoint``, as a hint to copy."""
    parts = ["textclean-daemon", verb, *extra]
    # Spelled out unless a bare command reaches the same daemon from any shell.
    if endpoint != DEFAULT_ENDPOINT or os.environ.get("TEXTCLEAN_ENDPOINT", endpoint) != endpoint:
        parts += ["--endpoint", endpoint]
    return " ".join(parts)


def check_bind(endpoint: str, keys: CurveKeys | None) -> None:
    """Raise EndpointError or InsecureEndpoint if the daemon must not bind ``endpoint``."""
    parse(endpoint)
    if not is_loopback(endpoint) and keys is None:
        raise InsecureEndpoint(endpoint)


def check_free(endpoint: str, wait: float = 1.0) -> None:
    """Raise EndpointBusy if something is bound to ``endpoint``; EndpointError if it cannot be bound at all.

    Busy is retried for ``wait`` seconds: another ``start`` checking the same
    endpoint holds it for an instant, and that is no reason to give up.
    """
    import time

    import zmq

    deadline = time.monotonic() + wait
    while True:
        sock = zmq.Context.instance().socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.bind(endpoint)
            # A wildcard is bound under the address it resolved to, and only that name unbinds it.
            sock.unbind(sock.getsockopt(zmq.LAST_ENDPOINT))
            return
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE:
                raise EndpointError(f"cannot listen on {endpoint}: {exc.strerror}") from None
            if time.monotonic() >= deadline:
                raise EndpointBusy(endpoint) from None
        finally:
            sock.close(0)
        time.sleep(0.1)


# ------------------------------------------------------------- CURVE keys


def make_keys(keys_dir: Path) -> Path:
    """Server key pair, one client key pair authorised to connect, and the clients' file; returns that file."""
    import zmq

    from .statedir import write_private

    (keys_dir / "authorized_clients").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    write_private(
        keys_dir / "server.json", json.dumps({"public": server_public.decode(), "secret": server_secret.decode()})
    )
    # zmq.auth's certificate format, which the authenticator reads.
    write_private(
        keys_dir / "authorized_clients" / "client.key",
        f'metadata\ncurve\n    public-key = "{client_public.decode()}"\n',
    )
    write_private(
        keys_dir / "client.json",
        json.dumps(
            {
                "server_public": server_public.decode(),
                "client_public": client_public.decode(),
                "client_secret": client_secret.decode(),
            },
            indent=1,
        ),
    )
    return keys_dir / "client.json"


def server_keys(keys_dir: Path) -> CurveKeys | None:
    try:
        data = json.loads((keys_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None
    return CurveKeys(data["public"].encode(), data["secret"].encode(), str(keys_dir / "authorized_clients"))


def client_keys(keys_dir: Path) -> dict[str, bytes] | None:
    """The client's side in the form ``textclean_client.connect(curve=...)`` takes."""
    try:
        data = json.loads((keys_dir / "client.json").read_text())
    except (OSError, ValueError):
        return None
    return {k: v.encode() for k, v in data.items()}
