"""Start-up cost: the CPU path with ONNX Runtime must not import PyTorch (over a second of every command)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import cv2
import pytest
from textclean.weights import weights_dir

from .helpers import page

# Runs one command in a fresh interpreter and reports whether torch got imported along the way.
PROBE = """
import json, sys
from textclean.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "torch": "torch" in sys.modules}))
"""


def _run(args: list[str], env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "stderr": proc.stderr}


@pytest.fixture
def page_png(tmp_path):
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), page(160, 192)[..., ::-1])
    return path


@pytest.fixture
def env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def test_cpu_clean_with_onnx_never_imports_torch(tmp_path, page_png, env):
    for kind in ("segmenter", "inpainter"):
        assert (weights_dir() / f"{kind}.onnx").exists(), "the shipped ONNX copies are missing"
    out = _run(["clean", str(page_png), "-o", str(tmp_path / "out.png"), "--device", "cpu"], env)
    assert out["rc"] == 0 and (tmp_path / "out.png").exists()
    assert out["torch"] is False
    info = _run(["info"], {**env, "CUDA_VISIBLE_DEVICES": ""})
    assert info["rc"] == 0
    if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
        assert info["torch"] is False  # `auto` on a machine without an NVIDIA driver


def test_without_onnx_copies_torch_runs_them(tmp_path, page_png, env):
    """The probe sees torch when it is really used: only .pt files → the PyTorch fall-back, said in a log line."""
    weights = tmp_path / "weights"
    weights.mkdir()
    for kind in ("segmenter", "inpainter"):
        shutil.copy(weights_dir() / f"{kind}.pt", weights / f"{kind}.pt")
    out = _run(
        ["clean", str(page_png), "-o", str(tmp_path / "out.png"), "--device", "cpu"],
        {**env, "TEXTCLEAN_WEIGHTS_DIR": str(weights)},
    )
    assert out["rc"] == 0 and (tmp_path / "out.png").exists()
    assert out["torch"] is True


def test_onnx_runtime_uses_every_core_without_torch(env):
    """Without torch to ask, the thread count must not fall to ONNX Runtime's default, one thread here."""
    probe = (
        "import os, sys\n"
        "from textclean.backend import _default_threads\n"
        "assert 'torch' not in sys.modules\n"
        "print(_default_threads(), len(os.sched_getaffinity(0)))\n"
    )
    clean_env = {k: v for k, v in env.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", probe], env=clean_env, capture_output=True, text=True, check=True)
    threads, cores = map(int, out.stdout.split())
    assert threads == cores
    pinned = subprocess.run(
        [sys.executable, "-c", probe], env={**clean_env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True
    )
    assert pinned.stdout.split()[0] == "1"
