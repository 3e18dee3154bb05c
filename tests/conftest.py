"""Shared fixtures: one model runner per test session, small synthetic pages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from textclean.backend import ModelRunner
from textclean.pipeline import Pipeline

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def runner() -> ModelRunner:
    # The shipped weights when installed; random networks otherwise, which is
    # enough for every property tested with this fixture (shapes, layouts,
    # untouched pixels, seams), none of which depends on the model being good.
    return ModelRunner("cpu", allow_untrained=True)


@pytest.fixture(scope="session")
def pipeline(runner: ModelRunner) -> Pipeline:
    return Pipeline(runner)


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


@pytest.fixture
def rgb_page() -> np.ndarray:
    return page()


@pytest.fixture
def env(tmp_path):
    """Environment for a real `textclean-daemon` process: private state dir, a free 127.0.0.1 port."""
    import os

    from .test_daemon import free_port
    from .test_daemon_cli import daemon_cli

    e = {
        **os.environ,
        "TEXTCLEAN_STATE_DIR": str(tmp_path / "state"),
        "TEXTCLEAN_ENDPOINT": f"tcp://127.0.0.1:{free_port()}",
        "OMP_NUM_THREADS": "1",
    }
    yield e
    daemon_cli(["stop", "--timeout", "30"], e)


# The real-editor tests (test_gimp.py, test_krita.py) share these.
from .editors.fixtures import daemon, root, truth  # noqa: E402,F401
