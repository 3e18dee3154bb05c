"""Faults and access: the daemon and client recover, or fail with a clear message."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import textclean_client as tc
import zmq
from textclean import protocol
from textclean.server import CurveKeys, Server

from .helpers import (
    UNTRAINED,
    RunningServer,
    as_image,
    daemon_cli,
    free_port,
    lettered_page,
    page,
    raw_dealer,
    state_file,
)


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.parametrize("transport", ["pyzmq", "builtin"])
def test_sigkill_mid_request_is_reported_and_a_later_start_cleans_up(env, tmp_path, transport):
    assert daemon_cli(["start", "--device", "cpu", *UNTRAINED], env).returncode == 0
    pid = json.loads(state_file(env, "pid").read_text())["pid"]
    big = np.tile(lettered_page(), (16, 16, 1))  # text to inpaint: the job outlasts the 1.5 s before the kill
    errors = []

    def call() -> None:
        try:
            with tc.connect(env["TEXTCLEAN_ENDPOINT"], transport=transport, timeout=120) as c:
                c.remove_text(as_image(big, "RGB"))
        except tc.TextcleanError as exc:
            errors.append(exc)

    t = threading.Thread(target=call)
    t0 = time.perf_counter()
    t.start()
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)
    t.join(30)
    assert not t.is_alive(), "the client hung after the daemon died"
    assert errors and isinstance(errors[0], (tc.ConnectionLost, tc.DaemonNotRunning)), errors
    assert "textclean-daemon start" in str(errors[0]) or "closed the connection" in str(errors[0])
    assert time.perf_counter() - t0 < 30
    assert state_file(env, "pid").exists()  # stale
    r = daemon_cli(["start", "--device", "cpu", *UNTRAINED], env)
    assert r.returncode == 0 and "stale pid file" in r.stderr
    with tc.connect(env["TEXTCLEAN_ENDPOINT"], transport=transport) as c:
        assert c.ping()


def test_corrupt_model_file_names_the_file(env, tmp_path):
    import shutil

    from textclean.weights import weights_path

    weights = tmp_path / "weights"
    weights.mkdir()
    if weights_path("inpainter").exists():
        shutil.copy(weights_path("inpainter"), weights / "inpainter.pt")
    (weights / "segmenter.pt").write_bytes(b"\x80\x02 truncated garbage")
    r = daemon_cli(["start", "--foreground", "--device", "cpu"], {**env, "TEXTCLEAN_WEIGHTS_DIR": str(weights)})
    assert r.returncode == 2
    assert str(weights / "segmenter.pt") in r.stderr and "corrupt" in r.stderr


def test_cuda_asked_for_without_cuda(env):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = daemon_cli(["start", "--foreground", "--device", "cuda", *UNTRAINED], env)
    assert r.returncode == 2 and "CUDA is not available" in r.stderr


def test_auto_device_logs_the_cpu_fallback(env, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert daemon_cli(["start", "--device", "auto", *UNTRAINED], env).returncode == 0
    assert "no CUDA device: running on the CPU" in state_file(env, "log").read_text()


def test_full_disk_log_keeps_serving_and_says_why_once(env, tmp_path):
    state = tmp_path / "state"
    state.mkdir(parents=True)
    state_file(env, "log").symlink_to("/dev/full")  # every write fails with ENOSPC
    r = daemon_cli(["start", "--device", "cpu", *UNTRAINED], env)
    assert r.returncode == 0, r.stderr
    with tc.connect(env["TEXTCLEAN_ENDPOINT"]) as c:
        c.remove_text(as_image(page(), "RGB"))
        status = c.status()
    assert "log cannot be written" in status["log_error"]
    out = daemon_cli(["status"], env).stdout
    assert out.count("log cannot be written") == 1


def test_too_large_is_refused_without_allocating_it(env, tmp_path):
    assert daemon_cli(["start", "--device", "cpu", *UNTRAINED], env).returncode == 0
    pid = json.loads(state_file(env, "pid").read_text())["pid"]
    sock = raw_dealer(env["TEXTCLEAN_ENDPOINT"])
    before = rss_mb(pid)
    for i in range(20):
        huge = {"width": 60_000, "height": 60_000, "layout": "RGBA", "depth": "f32"}  # claims 57 GB
        sock.send_multipart([protocol.pack({"id": i, "op": "remove_text", "image": huge}), b"\0" * 1024])
        assert sock.poll(10_000)
        assert protocol.unpack_header(sock.recv_multipart()[0])["error"]["code"] == "too_large"
    assert rss_mb(pid) - before < 50
    sock.close(0)


def test_private_files_are_user_only(env, tmp_path):
    assert daemon_cli(["keys"], env).returncode == 0
    assert daemon_cli(["start", "--device", "cpu", *UNTRAINED], env).returncode == 0
    state = tmp_path / "state"
    for path in [
        state,
        state_file(env, "pid"),
        state_file(env, "log"),
        state_file(env, "lock"),
        state / "keys",
        state / "keys" / "server.json",
        state / "keys" / "client.json",
        state / "keys" / "authorized_clients" / "client.key",
    ]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is open to others: {oct(mode)}"


def test_curve_needs_the_right_key(pipeline, tmp_path):
    from textclean.endpoints import client_keys, make_keys, server_keys

    make_keys(tmp_path / "keys")
    keys: CurveKeys = server_keys(tmp_path / "keys")
    running = RunningServer.__new__(RunningServer)
    running.endpoint = f"tcp://127.0.0.1:{free_port()}"
    running.server = Server(pipeline, running.endpoint, curve=keys)
    running.thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    running.thread.start()
    assert running.server.wait_ready(10)
    try:
        good = client_keys(tmp_path / "keys")
        with tc.connect(running.endpoint, transport="pyzmq", curve=good) as c:
            assert c.ping()
        ping = protocol.pack({"id": 1, "op": "ping"})
        wrong_public, wrong_secret = zmq.curve_keypair()
        for curve in (
            None,
            {"server_public": good["server_public"], "client_public": wrong_public, "client_secret": wrong_secret},
        ):
            s = zmq.Context.instance().socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            if curve:
                s.curve_serverkey, s.curve_publickey, s.curve_secretkey = (
                    curve["server_public"],
                    curve["client_public"],
                    curve["client_secret"],
                )
            s.connect(running.endpoint)
            s.send(ping)
            assert not s.poll(2000), "a client without the right key got a reply"
            s.close(0)
        with pytest.raises(tc.TextcleanError):  # NULL mechanism against a CURVE server
            tc.connect(running.endpoint, transport="builtin", timeout=3).ping(timeout=3)
    finally:
        running.stop()


def test_cli_refuses_a_decompression_bomb(tmp_path, capsys):
    from PIL import Image
    from textclean.cli import main

    bomb = tmp_path / "bomb.png"
    Image.new("L", (20000, 20000)).save(bomb, optimize=True)  # 400 MP of zeros in a few hundred KB
    assert bomb.stat().st_size < 2_000_000
    assert main(["mask", str(bomb), "-o", str(tmp_path / "m.png"), "--allow-untrained"]) == 1
    err = capsys.readouterr().err
    assert "over the limit" in err or "too large" in err


def test_cli_truncated_file(tmp_path, capsys):
    from PIL import Image
    from textclean.cli import main

    good = tmp_path / "good.png"
    Image.fromarray(page()).save(good)
    cut = tmp_path / "cut.png"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert main(["mask", str(cut), "-o", str(tmp_path / "m.png"), "--allow-untrained"]) == 1
    assert "cut.png" in capsys.readouterr().err


def test_import_of_the_daemon_module_is_cheap():
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, textclean.daemon, textclean.endpoints, textclean.statedir; "
            "print('torch' in sys.modules, 'numpy' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.stdout.strip() == "False False", "the daemon CLI imports torch or numpy before it needs to"
