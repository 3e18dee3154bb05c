"""``textclean-daemon`` as a user runs it: real processes, a private state dir, 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import textclean_client as tc

from .helpers import UNTRAINED, as_array, as_image, daemon_cli, free_port, page, port, state_file


def daemons_of(state_dir: str) -> list[int]:
    """Pids of `textclean.daemon start --foreground` processes run with this state dir (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"textclean.daemon" in cmdline
            and b"--foreground" in cmdline
            and f"TEXTCLEAN_STATE_DIR={state_dir}".encode() in environ
        ):
            pids.append(int(entry.name))
    return pids


def test_start_status_call_stop(env):
    r = daemon_cli(["start", "--device", "cpu", *UNTRAINED], env)
    assert r.returncode == 0, r.stderr
    assert "started" in r.stdout
    for suffix in ("pid", "log", "lock"):
        mode = stat.S_IMODE(state_file(env, suffix).stat().st_mode)
        assert mode & 0o077 == 0, f"daemon-*.{suffix} is readable by others: {oct(mode)}"
    info = json.loads(state_file(env, "pid").read_text())

    r = daemon_cli(["status"], env)
    assert r.returncode == 0 and env["TEXTCLEAN_ENDPOINT"] in r.stdout and "device:" in r.stdout

    with tc.connect(env["TEXTCLEAN_ENDPOINT"]) as c:
        rgb = page()
        mask, cleaned = c.remove_text(as_image(rgb, "RGB"))
        m = as_array(mask)[..., 0]
        assert np.array_equal(as_array(cleaned)[m == 0], rgb[m == 0])
    assert "1 served" in daemon_cli(["status"], env).stdout

    second = daemon_cli(["start", "--foreground", "--device", "cpu", *UNTRAINED], env)
    assert second.returncode == 4 and "already running" in second.stderr and str(info["pid"]) in second.stderr
    third = daemon_cli(["start", "--device", "cpu", *UNTRAINED], env)
    assert third.returncode == 4 and "already running" in third.stderr
    assert json.loads(state_file(env, "pid").read_text()) == info, "a refused start touched the pid file"

    r = daemon_cli(["stop"], env)
    assert r.returncode == 0 and str(info["pid"]) in r.stdout
    assert not state_file(env, "pid").exists()
    assert daemon_cli(["status"], env).returncode == 3


def test_four_starts_at_once_leave_exactly_one_daemon(env):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "textclean.daemon", "start", "--device", "cpu", *UNTRAINED],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(180), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 4, 4, 4], results
    winner = next(out for code, out, _ in results if code == 0)
    for code, _, err in results:
        if code == 4:
            assert "already running" in err, err
    deadline = time.time() + 10
    while len(daemons_of(env["TEXTCLEAN_STATE_DIR"])) > 1 and time.time() < deadline:
        time.sleep(0.2)  # losers that lost the lock race exit within LOCK_WAIT_S
    alive = daemons_of(env["TEXTCLEAN_STATE_DIR"])
    info = json.loads(state_file(env, "pid").read_text())
    assert alive == [info["pid"]] and f"pid {info['pid']}" in winner

    status = daemon_cli(["status"], env)
    assert status.returncode == 0 and f"pid {info['pid']}" in status.stdout
    stop = daemon_cli(["stop", "--timeout", "60"], env)
    assert stop.returncode == 0 and str(info["pid"]) in stop.stdout
    assert daemons_of(env["TEXTCLEAN_STATE_DIR"]) == []
    assert not state_file(env, "pid").exists()


def test_a_busy_endpoint_is_reported(env):
    import zmq

    blocker = zmq.Context.instance().socket(zmq.ROUTER)
    blocker.bind(env["TEXTCLEAN_ENDPOINT"])
    try:
        for args in (["start", "--foreground"], ["start"]):
            r = daemon_cli([*args, "--device", "cpu", *UNTRAINED], env)
            assert r.returncode == 4
            assert "already in use" in r.stderr and env["TEXTCLEAN_ENDPOINT"] in r.stderr
            assert "Traceback" not in r.stderr
    finally:
        blocker.close(0)


def test_non_loopback_and_wildcard_endpoints_are_refused_without_keys_in_one_line(env):
    for endpoint in ("tcp://0.0.0.0:47999", "tcp://*:47999", "tcp://[::]:47999", "tcp://192.0.2.1:47999"):
        for args in (["start"], ["start", "--foreground"]):
            r = daemon_cli([*args, "--device", "cpu", "--endpoint", endpoint, *UNTRAINED], env)
            assert r.returncode == 2, (endpoint, r.stderr)
            first = r.stderr.splitlines()[0]
            assert first.startswith("textclean-daemon: refusing to listen on " + endpoint), r.stderr
            assert "make keys with `textclean-daemon keys`" in first
            assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_malformed_endpoints_get_one_line_on_every_command(env):
    for endpoint in ("tcp://127.0.0.1", "tcp://127.0.0.1:99999", "http://127.0.0.1:80", "127.0.0.1:47711"):
        for args in (["start"], ["stop"], ["status"], ["keys"], ["install-service", "--dest", "/nonexistent"]):
            r = daemon_cli([*args, "--endpoint", endpoint], env)
            assert r.returncode == 2, (args, endpoint, r.stdout, r.stderr)
            assert r.stderr.startswith(f"textclean-daemon: cannot use endpoint {endpoint!r}"), r.stderr
            assert "Traceback" not in r.stderr


def test_every_command_takes_the_endpoint_and_every_hint_repeats_it(env):
    other = f"tcp://127.0.0.1:{free_port()}"
    default_env = {k: v for k, v in env.items() if k != "TEXTCLEAN_ENDPOINT"}
    for e, args in ((default_env, ["--endpoint", other]), ({**default_env, "TEXTCLEAN_ENDPOINT": other}, [])):
        status = daemon_cli(["status", *args], e)
        assert status.returncode == 3 and f"not running at {other}" in status.stdout
        assert f"textclean-daemon start --endpoint {other}" in status.stdout
        stop = daemon_cli(["stop", *args], e)
        assert stop.returncode == 3 and f"textclean-daemon start --endpoint {other}" in stop.stderr
        keys = daemon_cli(["keys", *args], e)
        assert keys.returncode == 0


def test_one_daemon_per_port_and_status_finds_each(env, tmp_path):
    """The README's rule: a user may run several daemons on different ports, each with its own files."""
    first, second = env, {**env, "TEXTCLEAN_ENDPOINT": f"tcp://127.0.0.1:{free_port()}"}
    try:
        for e in (first, second):
            r = daemon_cli(["start", "--device", "cpu", *UNTRAINED], e)
            assert r.returncode == 0, r.stderr
        pids = [json.loads(state_file(e, "pid").read_text())["pid"] for e in (first, second)]
        assert pids[0] != pids[1]
        for e, pid in zip((first, second), pids):
            r = daemon_cli(["status", "--endpoint", e["TEXTCLEAN_ENDPOINT"]], env)
            assert r.returncode == 0 and f"pid {pid}" in r.stdout
        # The same port through another address of it is the same daemon.
        same_port = f"tcp://localhost:{port(second)}"
        r = daemon_cli(["start", "--device", "cpu", "--endpoint", same_port, *UNTRAINED], env)
        assert r.returncode == 4 and f"pid {pids[1]}" in r.stderr
        r = daemon_cli(["stop", "--endpoint", second["TEXTCLEAN_ENDPOINT"]], env)
        assert r.returncode == 0 and str(pids[1]) in r.stdout
        assert daemon_cli(["status"], first).returncode == 0, "stopping one daemon stopped the other"
    finally:
        daemon_cli(["stop", "--timeout", "30"], second)


def test_a_daemon_on_all_interfaces_is_found_through_loopback(env):
    """With keys, `start --endpoint tcp://*:N` runs; `status` and `stop` find it by 127.0.0.1:N as well."""
    n = port(env)
    assert daemon_cli(["keys"], env).returncode == 0
    r = daemon_cli(["start", "--device", "cpu", "--endpoint", f"tcp://*:{n}", *UNTRAINED], env)
    try:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        r = daemon_cli(["status", "--endpoint", f"tcp://127.0.0.1:{n}"], env)
        assert r.returncode == 0 and f"tcp://*:{n}" in r.stdout, r.stdout
    finally:
        r = daemon_cli(["stop", "--endpoint", f"tcp://127.0.0.1:{n}", "--timeout", "30"], env)
    assert r.returncode == 0, r.stderr


def test_a_refused_start_in_the_background_says_why_first(env, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "segmenter.pt").write_bytes(b"\x80\x02 truncated garbage")
    r = daemon_cli(["start", "--device", "cpu"], {**env, "TEXTCLEAN_WEIGHTS_DIR": str(weights)})
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("textclean-daemon: ") and "segmenter.pt" in lines[0], r.stderr
    assert len(lines) <= 2 and "log:" in lines[-1]


def test_stop_during_model_load_leaves_nothing_behind(env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "textclean.daemon", "start", "--foreground", "--device", "cpu", *UNTRAINED],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not state_file(env, "pid").exists() and time.time() < deadline:
        time.sleep(0.05)
    status = daemon_cli(["status"], env)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, proc.stderr.read()
    assert "starting" in status.stdout or "running" in status.stdout
    assert not state_file(env, "pid").exists()
    assert daemon_cli(["start", "--device", "cpu", *UNTRAINED], env).returncode == 0


LIGHT = r"""
import sys, textclean.daemon as d
for argv in {commands}:
    code = d.main(argv)
    print("RESULT", argv[0], code, "torch" in sys.modules, flush=True)
"""


def test_the_light_commands_never_import_torch(env):
    """stop, status, keys and the shell's side of start run without torch (the daemon itself loads it)."""
    commands = [["keys"], ["status"], ["start", "--device", "cpu", *UNTRAINED], ["status"], ["stop"]]
    r = subprocess.run(
        [sys.executable, "-c", LIGHT.format(commands=commands)], env=env, capture_output=True, text=True, timeout=240
    )
    lines = [line.split()[1:] for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    assert [(c, code) for c, code, _ in lines] == [
        ("keys", "0"),
        ("status", "3"),
        ("start", "0"),
        ("status", "0"),
        ("stop", "0"),
    ], r.stdout + r.stderr
    assert all(flag == "False" for _, _, flag in lines), r.stdout


def test_install_service_systemd_and_launchd(env, tmp_path):
    import plistlib
    import shutil

    dest = tmp_path / "units"
    r = daemon_cli(["install-service", "--platform", "linux", "--dest", str(dest)], env)
    assert r.returncode == 0, r.stderr
    unit = dest / f"textclean-daemon-{port(env)}.service"
    text = unit.read_text()
    assert f"--endpoint {env['TEXTCLEAN_ENDPOINT']}" in text and "start --foreground" in text
    assert "WantedBy=default.target" in text and "Restart=on-failure" in text
    assert f"systemctl --user enable --now {unit.name}" in r.stdout
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        problems = [line for line in check.stderr.splitlines() if unit.name in line or "ExecStart" in line]
        assert check.returncode == 0 and not problems, check.stderr
    # Installing again with the same settings changes nothing; other settings keep the old file.
    again = daemon_cli(["install-service", "--platform", "linux", "--dest", str(dest)], env)
    assert "unchanged" in again.stdout and not unit.with_name(unit.name + ".bak").exists()
    daemon_cli(["install-service", "--platform", "linux", "--dest", str(dest), "--device", "cpu"], env)
    assert unit.with_name(unit.name + ".bak").read_text() == text and "--device cpu" in unit.read_text()

    r = daemon_cli(["install-service", "--platform", "darwin", "--dest", str(dest)], env)
    assert r.returncode == 0, r.stderr
    agent = plistlib.loads(next(dest.glob("org.textclean.daemon*.plist")).read_bytes())
    assert agent["ProgramArguments"][-6:] == [
        "start",
        "--foreground",
        "--endpoint",
        env["TEXTCLEAN_ENDPOINT"],
        "--device",
        "auto",
    ]
    assert agent["RunAtLoad"] and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["EnvironmentVariables"]["TEXTCLEAN_STATE_DIR"] == env["TEXTCLEAN_STATE_DIR"]
    assert "launchctl bootstrap" in r.stdout

    r = daemon_cli(["install-service", "--platform", "win32", "--dest", str(dest)], env)
    assert r.returncode == 2 and "Task Scheduler" in r.stderr


def test_the_service_unit_runs_the_daemon(env, tmp_path):
    """The unit's ExecStart, run as systemd would run it, serves and stops on SIGTERM."""
    import shlex

    dest = tmp_path / "units"
    assert (
        daemon_cli(["install-service", "--platform", "linux", "--dest", str(dest), "--device", "cpu"], env).returncode
        == 0
    )
    exec_start = next(
        line for line in (next(dest.glob("*.service"))).read_text().splitlines() if line.startswith("ExecStart=")
    )
    argv = shlex.split(exec_start[len("ExecStart=") :]) + UNTRAINED
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while daemon_cli(["status"], env).returncode != 0 and time.time() < deadline:
            assert proc.poll() is None
            time.sleep(0.5)
        with tc.connect(env["TEXTCLEAN_ENDPOINT"]) as c:
            assert c.ping()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0


def test_the_unit_quotes_what_systemd_would_misread(tmp_path):
    import shutil

    from textclean.service import systemd_unit

    unit = tmp_path / "textclean-daemon.service"
    unit.write_text(systemd_unit("tcp://127.0.0.1:47711", "cpu", {"TEXTCLEAN_STATE_DIR": "/tmp/a dir/50%"}))
    assert 'Environment="TEXTCLEAN_STATE_DIR=/tmp/a dir/50%%"' in unit.read_text()
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
