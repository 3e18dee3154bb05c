"""Property-based fuzz of headers and frames: the daemon answers or drops, and always survives."""

from __future__ import annotations

import socket

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textclean import protocol
from textclean.protocol import Limits, ProtocolError

from .helpers import RunningServer, raw_dealer

LIMITS = Limits(max_pixels=64 * 64, max_message_bytes=1 << 20)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
image_specs = st.fixed_dictionaries(
    {
        "width": st.one_of(st.integers(-5, 80), st.just(2**40), st.text(max_size=3)),
        "height": st.one_of(st.integers(-5, 80), st.just(2**31)),
        "layout": st.sampled_from(["RGBA", "BGRA", "RGB", "GRAY", "GRAYA", "CMYK", 3]),
        "depth": st.sampled_from(["u8", "u16", "f16", "f32", "u32", None]),
    },
    optional={"stride": st.integers(-4, 400)},
)
headers = st.one_of(
    st.dictionaries(
        st.sampled_from(["v", "id", "op", "image", "mask", "region", "params", "target"]), json_like, max_size=6
    ),
    st.fixed_dictionaries(
        {"id": st.integers(0, 99), "op": st.sampled_from(list(protocol.OPS) + ["nope"]), "image": image_specs},
        optional={
            "mask": image_specs,
            "region": image_specs,
            "target": json_like,
            "params": st.dictionaries(st.sampled_from(list(protocol.PARAMS) + ["x"]), scalars, max_size=3),
        },
    ),
)
frames = st.lists(st.binary(max_size=3000), max_size=3)


@pytest.fixture(scope="module")
def fuzz_daemon(pipeline):
    running = RunningServer(pipeline, limits=LIMITS)
    yield running
    running.stop()


def _exchange(endpoint: str, parts: list[bytes]) -> dict | None:
    sock = raw_dealer(endpoint)
    try:
        sock.send_multipart(parts)
        if not sock.poll(20000):
            return None
        reply = protocol.unpack_header(sock.recv_multipart()[0])
        while reply.get("type") == "progress":
            assert sock.poll(20000)
            reply = protocol.unpack_header(sock.recv_multipart()[0])
        return reply
    finally:
        sock.close(0)


def _still_alive(endpoint: str) -> None:
    reply = _exchange(endpoint, [protocol.pack({"id": "p", "op": "ping"})])
    assert reply and reply["ok"] and reply["id"] == "p"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, extra=frames)
def test_fuzzed_headers_and_frames_get_a_reply_and_the_daemon_lives(fuzz_daemon, header, extra):
    reply = _exchange(fuzz_daemon.endpoint, [msgpack.packb(header, use_bin_type=True), *extra])
    assert reply is not None, "no reply to an addressable message"
    assert reply["type"] == "result"
    if not reply["ok"]:
        assert reply["error"]["code"] in {
            "bad_request",
            "too_large",
            "unsupported_format",
            "busy",
            "internal",
            "cancelled",
        }
        assert reply["error"]["code"] != "internal", reply
    _still_alive(fuzz_daemon.endpoint)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=1, max_size=200))
def test_random_bytes_as_header(fuzz_daemon, garbage):
    reply = _exchange(fuzz_daemon.endpoint, [garbage])
    assert reply is not None and reply["type"] == "result"
    _still_alive(fuzz_daemon.endpoint)


def test_deeply_nested_and_truncated_msgpack(fuzz_daemon):
    nested = b"\x81\xa1a" * 5000 + b"\xc0"  # {"a": {"a": ...}} 5000 deep
    for blob in (nested, msgpack.packb({"op": "ping", "id": 1})[:-2], b"\xdf\xff\xff\xff\xff"):
        reply = _exchange(fuzz_daemon.endpoint, [blob])
        assert reply is not None and reply["error"]["code"] in ("bad_request", "too_large")
    _still_alive(fuzz_daemon.endpoint)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=1, max_size=600))
def test_zmtp_level_garbage_on_the_raw_socket(fuzz_daemon, garbage):
    host, port = fuzz_daemon.endpoint[6:].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as s:
        try:
            s.sendall(garbage)
            s.recv(64)
        except OSError:
            pass
    _still_alive(fuzz_daemon.endpoint)


@given(header=headers, n=st.integers(0, 3))
@settings(max_examples=300, deadline=None)
def test_parse_request_raises_only_protocol_errors(header, n):
    try:
        protocol.parse_request(header, n, LIMITS)
    except ProtocolError as exc:
        assert exc.code in {"bad_request", "too_large", "unsupported_format"}


def test_empty_message_is_dropped_not_fatal(fuzz_daemon):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(fuzz_daemon.endpoint)
    sock.send(b"")
    sock.close(0)
    _still_alive(fuzz_daemon.endpoint)
