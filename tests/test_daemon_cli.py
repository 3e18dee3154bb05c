"""``textclean-daemon`` as a user runs it: real processes, a private state dir, 127.0.0.1."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import numpy as np
import textclean_client as tc
from textclean.weights import weights_path

from .conftest import page
from .test_daemon import as_array, as_image

UNTRAINED = [] if weights_path("segmenter").exists() and weights_path("inpainter").exists() else ["--allow-untrained"]


def daemon_cli(args: list[str], env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textclean.daemon", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_start_status_call_stop(env, tmp_path):
    r = daemon_cli(["start", "--device", "cpu", *UNTRAINED], env)
    assert r.returncode == 0, r.stderr
    assert "started" in r.stdout
    state = tmp_path / "state"
    for name in ("daemon.pid", "daemon.log"):
        mode = stat.S_IMODE((state / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} is readable by others: {oct(mode)}"
    info = json.loads((state / "daemon.pid").read_text())

    r = daemon_cli(["status"], env)
    assert r.returncode == 0 and env["TEXTCLEAN_ENDPOINT"] in r.stdout and "device:" in r.stdout

    with tc.connect(env["TEXTCLEAN_ENDPOINT"]) as c:
        rgb = page()
        mask, cleaned = c.remove_text(as_image(rgb, "RGB"))
        m = as_array(mask)[..., 0]
        assert np.array_equal(as_array(cleaned)[m == 0], rgb[m == 0])
    assert "1 served" in daemon_cli(["status"], env).stdout

    second = daemon_cli(["start", "--foreground", "--device", "cpu", *UNTRAINED], env)
    assert second.returncode != 0 and "already" in second.stderr

    r = daemon_cli(["stop"], env)
    assert r.returncode == 0 and str(info["pid"]) in r.stdout
    assert not (state / "daemon.pid").exists()
    assert daemon_cli(["status"], env).returncode == 3


def test_a_busy_endpoint_is_reported(env):
    import zmq
    blocker = zmq.Context.instance().socket(zmq.ROUTER)
    blocker.bind(env["TEXTCLEAN_ENDPOINT"])
    try:
        r = daemon_cli(["start", "--foreground", "--device", "cpu", *UNTRAINED], env)
        assert r.returncode == 4
        assert "already in use" in r.stderr
    finally:
        blocker.close(0)


def test_non_loopback_endpoint_is_refused_without_keys(env):
    r = daemon_cli(["start", "--foreground", "--device", "cpu", "--endpoint", "tcp://0.0.0.0:47999", *UNTRAINED],
                   env)
    assert r.returncode == 2 and "textclean-daemon keys" in r.stderr
