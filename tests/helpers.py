"""Helpers the test modules share: pages, free ports, an in-process server, raw sockets, the daemon's CLI.

Kept here rather than imported from one test module into another, so that reading or running one test
file never drags in another's tests.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import textclean_client as tc
import zmq
from textclean.protocol import Limits
from textclean.server import Server
from textclean.weights import weights_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(
        self, pipeline, endpoint: str | None = None, limits: Limits | None = None, heartbeat_ms: int = 500
    ) -> None:
        self.endpoint = endpoint or f"tcp://127.0.0.1:{free_port()}"
        self.server = Server(pipeline, self.endpoint, limits, heartbeat_ms=heartbeat_ms)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        assert self.server.wait_ready(10)

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


def as_image(a: np.ndarray, layout: str) -> tc.Image:
    depth = {np.uint8: "u8", np.uint16: "u16", np.float16: "f16", np.float32: "f32"}[a.dtype.type]
    return tc.Image(a.shape[1], a.shape[0], layout, depth, np.ascontiguousarray(a).tobytes())


def as_array(img: tc.Image) -> np.ndarray:
    dtype = {"u8": "<u1", "u16": "<u2", "f16": "<f2", "f32": "<f4"}[img.depth]
    a = np.frombuffer(bytes(img.data), dtype)
    return a.reshape(img.height, img.width, tc.CHANNELS[img.layout])


def raw_dealer(endpoint: str) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


UNTRAINED = [] if weights_path("segmenter").exists() and weights_path("inpainter").exists() else ["--allow-untrained"]


def daemon_cli(args: list[str], env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textclean.daemon", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def port(env: dict) -> str:
    return env["TEXTCLEAN_ENDPOINT"].rsplit(":", 1)[1]


def state_file(env: dict, suffix: str) -> Path:
    return Path(env["TEXTCLEAN_STATE_DIR"]) / f"daemon-{port(env)}.{suffix}"


def check_selection(sel: np.ndarray, truth) -> None:
    text = truth.label == 1
    selected = sel > 127
    assert selected[text].mean() > 0.85, f"only {selected[text].mean():.1%} of the text is selected"
    near = cv2.dilate((truth.label > 0).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert (selected & ~near).sum() < 0.1 * selected.sum(), "much of the selection is far from any text"


def page(h: int = 200, w: int = 240, seed: int = 0) -> np.ndarray:
    """A small RGB uint8 page: light background, dark strokes, a tone patch."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    tone = (xx % 6 < 3) ^ (yy % 6 < 3)
    img[h // 2 :, : w // 2][tone[h // 2 :, : w // 2]] = 40
    for _ in range(12):
        y, x = rng.integers(0, h - 12), rng.integers(0, w - 30)
        img[y : y + 10, x : x + 2] = 10
        img[y + 4 : y + 6, x : x + 20] = 10
    return img


def lettered_page(h: int = 200, w: int = 240, seed: int = 0) -> np.ndarray:
    """``page()`` with two lines of real lettering: what a test needs when the shipped segmenter must
    find something (segmenter 0.5 marks none of ``page()``'s strokes, which are not glyphs)."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.fromarray(page(h, w, seed))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=22)
    draw.text((10, 8), "BOOM! Wait", font=font, fill=(10, 10, 10))
    draw.text((10, 40), "here...", font=font, fill=(10, 10, 10))
    return np.asarray(im).copy()
