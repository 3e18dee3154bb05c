"""The daemon's server and the plugins' client library, over real sockets on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import textclean_client as tc
import zmq
from textclean import protocol
from textclean.protocol import Limits
from textclean.server import InsecureEndpoint, Server, is_loopback

from .helpers import RunningServer, as_array, as_image, free_port, lettered_page, page, raw_dealer

TRANSPORTS = ["pyzmq", "builtin"]


@pytest.fixture
def daemon(pipeline):
    running = RunningServer(pipeline)
    yield running
    running.stop()


@pytest.fixture(params=TRANSPORTS)
def client(request, daemon):
    c = tc.connect(daemon.endpoint, timeout=60, transport=request.param)
    yield c
    c.close()


def ask(sock: zmq.Socket, parts: list, timeout_ms: int = 10000) -> dict:
    sock.send_multipart(parts)
    assert sock.poll(timeout_ms), "no reply"
    return protocol.unpack_header(sock.recv_multipart()[0])


# ----------------------------------------------------------------- every op


def test_light_ops(client):
    assert client.ping()
    hello = client.hello()
    assert hello["protocol"] == protocol.PROTOCOL_VERSION
    assert set(hello["ops"]) == set(protocol.OPS) and "BGRA" in hello["layouts"]
    status = client.status()
    for key in ("endpoint", "device", "backend", "models", "uptime_s", "requests_served", "last_error"):
        assert key in status


def test_remove_text_segment_and_inpaint(client):
    rgb = page()
    progress = []
    mask, cleaned = client.remove_text(
        as_image(rgb, "RGB"), params={"threshold": 0.3}, progress=lambda f, s: progress.append(f)
    )
    m, out = as_array(mask)[..., 0], as_array(cleaned)
    assert mask.layout == "GRAY" and cleaned.layout == "RGB" and cleaned.depth == "u8"
    assert np.array_equal(out[m == 0], rgb[m == 0])
    assert progress and progress[-1] == 1.0
    seg = client.segment(as_image(rgb, "RGB"), params={"threshold": 0.3})
    assert np.array_equal(as_array(seg)[..., 0], m)
    hole = np.zeros(rgb.shape[:2], np.uint8)
    hole[20:60, 30:90] = 255
    filled = as_array(client.inpaint(as_image(rgb, "RGB"), as_image(hole, "GRAY")))
    assert np.array_equal(filled[hole == 0], rgb[hole == 0])


def test_region_limits_the_search(client):
    rgb = page()
    region = np.zeros(rgb.shape[:2], np.uint8)
    region[:50, :50] = 255
    mask, _ = client.remove_text(as_image(rgb, "RGB"), as_image(region, "GRAY"), params={"threshold": 0.01, "grow": 4})
    assert not as_array(mask)[..., 0][region == 0].any()


@pytest.mark.parametrize("depth", ["u8", "u16", "f16", "f32"])
@pytest.mark.parametrize("layout", ["RGBA", "BGRA", "RGB", "GRAY", "GRAYA"])
def test_every_layout_and_depth_comes_back_the_same(daemon, layout, depth):
    rgb = page(120, 100)
    rgb[70:120, 50:100] = (200, 30, 60)  # a flat patch: its hole is flat-filled exactly
    gray = rgb[..., :1]
    alpha = np.full(rgb.shape[:2] + (1,), 200, np.uint8)
    base = {
        "RGBA": np.concatenate([rgb, alpha], 2),
        "BGRA": np.concatenate([rgb[..., ::-1], alpha], 2),
        "RGB": rgb,
        "GRAY": gray,
        "GRAYA": np.concatenate([gray, alpha], 2),
    }[layout]
    conv = {
        "u8": lambda a: a,
        "u16": lambda a: a.astype(np.uint16) * 257,
        "f16": lambda a: (a / 255).astype(np.float16),
        "f32": lambda a: (a / 255).astype(np.float32),
    }
    a = conv[depth](base)
    hole = np.zeros(a.shape[:2], np.uint8)
    hole[10:40, 20:70] = 255
    hole[85:105, 65:85] = 255  # inside the flat patch
    with tc.connect(daemon.endpoint, transport="builtin") as c:
        out = c.inpaint(as_image(a, layout), as_image(hole, "GRAY"))
    assert (out.layout, out.depth, out.width, out.height) == (layout, depth, 100, 120)
    b = as_array(out)
    assert np.array_equal(b[hole == 0], a[hole == 0])
    if layout in ("RGBA", "BGRA", "GRAYA"):
        assert np.array_equal(b[..., -1], a[..., -1])
    # Channel order survives the trip (BGRA is Krita's): the flat hole has the patch's exact colour.
    assert np.array_equal(b[85:105, 65:85], a[85:105, 65:85])


def test_padded_rows_are_read_by_stride(daemon):
    rgb = page(50, 40)
    padded = np.zeros((50, 40 * 3 + 8), np.uint8)
    padded[:, :120] = rgb.reshape(50, 120)
    hole = np.zeros((50, 40), np.uint8)
    hole[10:20, 10:20] = 255
    with tc.connect(daemon.endpoint) as c:
        out = c.inpaint(tc.Image(40, 50, "RGB", "u8", padded.tobytes(), stride=128), as_image(hole, "GRAY"))
    assert np.array_equal(as_array(out)[hole == 0], rgb[hole == 0])


# ------------------------------------------------------------- concurrency


def test_ping_answers_while_a_large_page_is_processed(daemon):
    big = np.tile(page(), (12, 12, 1))  # 2400×2880: seconds of work, even with ONNX Runtime
    done = threading.Event()

    def work() -> None:
        with tc.connect(daemon.endpoint) as c:
            c.remove_text(as_image(big, "RGB"))
        done.set()

    threading.Thread(target=work, daemon=True).start()
    time.sleep(0.3)
    with tc.connect(daemon.endpoint, transport="builtin") as c:
        t0 = time.perf_counter()
        assert c.ping()
        assert time.perf_counter() - t0 < 0.5
        assert not done.is_set(), "the page finished before ping could be measured against it"
    assert done.wait(120)


def test_concurrent_clients_of_both_kinds(daemon):
    errors, results = [], []

    def worker(i: int) -> None:
        try:
            with tc.connect(daemon.endpoint, transport=TRANSPORTS[i % 2]) as c:
                for j in range(3):
                    rgb = page(seed=i * 10 + j)
                    hole = np.zeros(rgb.shape[:2], np.uint8)
                    hole[5 + j : 30 + j, 5:50] = 255
                    out = as_array(c.inpaint(as_image(rgb, "RGB"), as_image(hole, "GRAY")))
                    results.append(np.array_equal(out[hole == 0], rgb[hole == 0]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 12 and all(results)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_stops_a_running_request(daemon, transport):
    # Lettered, so the shipped segmenter finds text to inpaint and the job outlasts the cancel's 0.5 s
    # (about 20 s uncancelled); segmenter 0.5 marks nothing on page(), whose 2400×2880 tiling took 0.45 s.
    big = np.tile(lettered_page(), (12, 12, 1))
    with tc.connect(daemon.endpoint, transport=transport) as c:
        threading.Timer(0.5, c.cancel).start()
        t0 = time.perf_counter()
        with pytest.raises(tc.Cancelled):
            c.remove_text(as_image(big, "RGB"))
        assert time.perf_counter() - t0 < 30
        assert c.ping()  # the same client goes on


def test_progress_callback_returning_false_cancels(daemon):
    big = np.tile(page(), (8, 8, 1))
    with tc.connect(daemon.endpoint) as c, pytest.raises(tc.Cancelled):
        c.remove_text(as_image(big, "RGB"), progress=lambda f, s: False)


def test_cancel_of_a_queued_request(daemon):
    sock = raw_dealer(daemon.endpoint)
    big = np.tile(page(), (6, 6, 1))
    spec = {"width": big.shape[1], "height": big.shape[0], "layout": "RGB", "depth": "u8"}
    sock.send_multipart([protocol.pack({"id": 1, "op": "remove_text", "image": spec}), big.tobytes()])
    sock.send_multipart([protocol.pack({"id": 2, "op": "remove_text", "image": spec}), big.tobytes()])
    sock.send_multipart([protocol.pack({"id": 3, "op": "cancel", "target": 2})])
    replies = {}
    deadline = time.time() + 120
    while len(replies) < 3 and time.time() < deadline:
        if sock.poll(1000):
            h = protocol.unpack_header(sock.recv_multipart()[0])
            if h["type"] == "result":
                replies[h["id"]] = h
    sock.close(0)
    assert replies[3]["ok"] and replies[3]["cancelled"]
    assert replies[2]["error"]["code"] == "cancelled"
    assert replies[1]["ok"]


def test_a_vanished_client_costs_only_the_work(daemon):
    big = np.tile(page(), (4, 4, 1))
    sock = raw_dealer(daemon.endpoint)
    spec = {"width": big.shape[1], "height": big.shape[0], "layout": "RGB", "depth": "u8"}
    sock.send_multipart([protocol.pack({"id": 1, "op": "remove_text", "image": spec}), big.tobytes()])
    time.sleep(0.2)
    sock.close(0)  # gone mid-request
    with tc.connect(daemon.endpoint, transport="builtin") as c:
        assert c.ping()
        rgb = page()
        mask, _ = c.remove_text(as_image(rgb, "RGB"))
        assert mask.width == rgb.shape[1]


# ------------------------------------------------------------- bad input


def test_limits_and_malformed_requests_get_error_codes(pipeline):
    running = RunningServer(pipeline, limits=Limits(max_pixels=100_000, max_message_bytes=2_000_000))
    try:
        sock = raw_dealer(running.endpoint)
        huge = {"width": 100_000, "height": 100_000, "layout": "RGBA", "depth": "u8"}
        assert ask(sock, [protocol.pack({"id": 1, "op": "segment", "image": huge})])["error"]["code"] == "too_large"
        ok_spec = {"width": 10, "height": 10, "layout": "RGB", "depth": "u8"}
        r = ask(sock, [protocol.pack({"id": 2, "op": "segment", "image": ok_spec})])
        assert r["error"]["code"] == "bad_request" and "frame" in r["error"]["message"]
        r = ask(sock, [protocol.pack({"id": 3, "op": "segment", "image": ok_spec}), b"\0" * 299])
        assert r["error"]["code"] == "bad_request" and "299" in r["error"]["message"]
        r = ask(sock, [protocol.pack({"id": 4, "op": "segment", "image": {**ok_spec, "layout": "CMYK"}}), b""])
        assert r["error"]["code"] == "unsupported_format"
        r = ask(sock, [protocol.pack({"id": 5, "op": "explode"})])
        assert r["error"]["code"] == "bad_request" and r["id"] == 5
        r = ask(sock, [b"\xc1 not msgpack"])
        assert r["error"]["code"] == "bad_request" and r["id"] is None
        r = ask(sock, [protocol.pack({"id": 6, "op": "segment", "image": {**ok_spec, "stride": 5}}), b"\0" * 300])
        assert r["error"]["code"] == "bad_request"
        assert ask(sock, [protocol.pack({"id": 7, "op": "ping"})])["ok"]
        status = ask(sock, [protocol.pack({"id": 8, "op": "status"})])
        assert status["errors"]["too_large"] >= 1 and status["last_error"]
        sock.close(0)
    finally:
        running.stop()


def test_non_loopback_bind_is_refused_without_keys(pipeline):
    with pytest.raises(InsecureEndpoint, match="textclean-daemon keys"):
        Server(pipeline, "tcp://0.0.0.0:47711")
    assert is_loopback("tcp://127.0.0.1:1") and is_loopback("tcp://[::1]:1") and is_loopback("ipc:///tmp/x")
    assert not is_loopback("tcp://192.168.1.5:1") and not is_loopback("tcp://*:1")


# ------------------------------------------------------ large and restarts


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_frames_over_100_mb_both_ways(pipeline, transport):
    # A 5 ms heartbeat: libzmq only counts whole frames as life, so a timeout
    # of three heartbeats would drop the client mid-frame (as a 1.5 s one did on CI).
    daemon = RunningServer(pipeline, heartbeat_ms=5)
    h, w = 5200, 5200  # RGBA u8: 108 MB each way
    a = np.empty((h, w, 4), np.uint8)
    a[..., 0] = np.arange(w, dtype=np.uint32) % 251
    a[..., 1] = (np.arange(h, dtype=np.uint32) % 241)[:, None]
    a[..., 2:] = 77
    hole = np.zeros((h, w), np.uint8)  # no hole: the transfer is what is tested
    try:
        with tc.connect(daemon.endpoint, transport=transport, timeout=120) as c:
            out = c.inpaint(as_image(a, "RGBA"), as_image(hole, "GRAY"))
    finally:
        daemon.stop()
    assert len(out.data) == a.nbytes
    assert np.array_equal(as_array(out), a)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_survives_a_daemon_restart_between_calls(pipeline, transport):
    first = RunningServer(pipeline)
    c = tc.connect(first.endpoint, transport=transport)
    try:
        assert c.ping()
        first.stop()
        with pytest.raises(tc.TextcleanError):
            c.ping(timeout=2)
        second = RunningServer(pipeline, first.endpoint)
        try:
            assert c.ping(timeout=10)
            rgb = page()
            mask, _ = c.remove_text(as_image(rgb, "RGB"))
            assert mask.height == rgb.shape[0]
        finally:
            second.stop()
    finally:
        c.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_daemon_not_running_says_how_to_start_it(transport):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(tc.DaemonNotRunning, match="textclean-daemon start"):
        tc.connect(endpoint, transport=transport)
