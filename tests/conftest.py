"""Shared fixtures: one model runner per test session, a small page, a daemon environment."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from textclean.backend import ModelRunner
from textclean.pipeline import Pipeline

from .helpers import daemon_cli, free_port, page

torch.set_num_threads(2)

# The processes the tests start (the CLI, the daemon) run this checkout too, like the tests themselves
# (pyproject.toml's pytest pythonpath), not the copy of the package installed in .venv.
_SOURCE = [str(Path(__file__).resolve().parent.parent / d) for d in ("daemon", "training", "plugins/common")]
_INHERITED = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
os.environ["PYTHONPATH"] = os.pathsep.join(_SOURCE + _INHERITED)


@pytest.fixture(scope="session")
def runner() -> ModelRunner:
    # The shipped weights when installed; random networks otherwise, which is
    # enough for every property tested with this fixture (shapes, layouts,
    # untouched pixels, seams), none of which depends on the model being good.
    return ModelRunner("cpu", allow_untrained=True)


@pytest.fixture(scope="session")
def pipeline(runner: ModelRunner) -> Pipeline:
    return Pipeline(runner)


@pytest.fixture
def rgb_page() -> np.ndarray:
    return page()


@pytest.fixture
def env(tmp_path):
    """Environment for a real `textclean-daemon` process: private state dir, a free 127.0.0.1 port."""
    import os

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
