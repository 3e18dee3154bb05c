"""``textclean-daemon``: start, stop and inspect the background daemon, make CURVE keys, install a service.

    textclean-daemon start [--foreground] [--device auto|cpu|cuda]
    textclean-daemon stop
    textclean-daemon status
    textclean-daemon keys
    textclean-daemon install-service

Every command takes ``--endpoint`` (default tcp://127.0.0.1:47711, or
``TEXTCLEAN_ENDPOINT``). A user may run one daemon per port, say one per
GPU: each has its own lock, pid file and log in the user's state directory
(``TEXTCLEAN_STATE_DIR`` overrides it), created readable by the user only.
Endpoints other than loopback, ``*`` and ``0.0.0.0`` included, need CURVE
keys (``textclean-daemon keys``).

Only ``start --foreground`` (the daemon itself) loads torch; the other
commands, and the part of ``start`` that runs in the shell, stay light.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import __version__, endpoints
from .endpoints import EndpointBusy, EndpointError, InsecureEndpoint, command
from .statedir import DaemonFiles, InstanceLock, keys_dir, running_daemons, write_private

EXIT_CONFIG = 2
EXIT_NOT_RUNNING = 3
EXIT_BUSY = 4
# How long a starting daemon retries the lock: long enough to outlast the
# instant `status` or `stop` hold it to look, short enough for a loser to go quickly.
LOCK_WAIT_S = 2.0


class Refused(Exception):
    """The command cannot go on; ``str()`` is one line for the user and ``code`` the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def resolve_endpoint(arg: str | None) -> str:
    endpoint = arg or os.environ.get("TEXTCLEAN_ENDPOINT") or endpoints.DEFAULT_ENDPOINT
    try:
        endpoints.parse(endpoint)
    except EndpointError as exc:
        raise Refused(str(exc), EXIT_CONFIG) from None
    return endpoint


def _bind_keys(endpoint: str):
    return None if endpoints.is_loopback(endpoint) else endpoints.server_keys(keys_dir())


def query_status(endpoint: str, info: dict | None, timeout: float = 3.0) -> dict | None:
    """The daemon's ``status`` reply, through the client library; None if nobody answers.

    ``info`` is the pid file's record: it says where the daemon is bound (a
    wildcard is reached through loopback) and whether it speaks CURVE.
    """
    import textclean_client as tc

    bound = info.get("endpoint", endpoint) if info else endpoint
    curve_on = info.get("curve") if info else not endpoints.is_loopback(endpoint)
    curve = endpoints.client_keys(keys_dir()) if curve_on else None
    if curve_on and curve is None:
        return None
    try:
        with tc.Client(endpoints.connect_address(bound), timeout=timeout, transport="pyzmq", curve=curve) as c:
            reply = c.status()
    except (tc.TextcleanError, EndpointError):
        return None
    return reply if reply.get("ok") else None


# ------------------------------------------------------------------ start


def cmd_start(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    if args.foreground:
        return run_foreground(args, endpoint)
    files = DaemonFiles.for_endpoint(endpoint)
    # What the daemon would refuse is refused here first, in one line, before
    # a process is spawned and its log has to be read.
    try:
        endpoints.check_bind(endpoint, _bind_keys(endpoint))
    except InsecureEndpoint as exc:
        raise Refused(str(exc), EXIT_CONFIG) from None
    info = files.read_pid()
    if InstanceLock(files.lock).held_elsewhere():
        raise Refused(_already_running(endpoint, info), EXIT_BUSY)
    if info:  # the lock is free, so whoever wrote this is gone
        print(
            f"textclean-daemon: found a stale pid file (pid {info['pid']} is gone); the new daemon replaces it",
            file=sys.stderr,
        )
    try:
        endpoints.check_free(endpoint)
    except EndpointBusy as exc:
        if InstanceLock(files.lock).held_elsewhere():  # another start won the race meanwhile
            raise Refused(_already_running(endpoint, files.read_pid()), EXIT_BUSY) from None
        raise Refused(str(exc), EXIT_BUSY) from None
    except EndpointError as exc:
        raise Refused(str(exc), EXIT_CONFIG) from None
    return start_background(args, endpoint, files)


def _already_running(endpoint: str, info: dict | None) -> str:
    where = info.get("endpoint", endpoint) if info else endpoint
    pid = f"pid {info['pid']}" if info else "starting"
    return f"already running ({pid}) on {where}; stop it with `{command('stop', endpoint)}`"


def _forwarded(args: argparse.Namespace, endpoint: str) -> list[str]:
    out = ["--endpoint", endpoint, "--device", args.device]
    if args.max_pixels:
        out += ["--max-pixels", str(args.max_pixels)]
    if args.max_message_bytes:
        out += ["--max-message-bytes", str(args.max_message_bytes)]
    if args.allow_untrained:
        out.append("--allow-untrained")
    return out


def start_background(args: argparse.Namespace, endpoint: str, files: DaemonFiles) -> int:
    try:
        log_file = open(files.log, "ab")
        os.chmod(files.log, 0o600)
    except OSError as exc:
        print(f"textclean-daemon: cannot write the log {files.log} ({exc.strerror}); logging nowhere", file=sys.stderr)
        log_file = open(os.devnull, "ab")
    # The daemon writes why it gave up here, so that reason is said first, not dug out of the log.
    fd, report = tempfile.mkstemp(prefix="start-", suffix=".reason", dir=files.pid.parent)
    os.close(fd)
    cmd = [
        sys.executable,
        "-m",
        "textclean.daemon",
        "start",
        "--foreground",
        *_forwarded(args, endpoint),
        "--start-report",
        report,
    ]
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": log_file, "stderr": subprocess.STDOUT}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    try:
        proc = subprocess.Popen(cmd, **kwargs)
    finally:
        log_file.close()
    try:
        return _wait_started(proc, endpoint, files, Path(report), args.wait)
    finally:
        Path(report).unlink(missing_ok=True)


def _wait_started(proc: subprocess.Popen, endpoint: str, files: DaemonFiles, report: Path, wait: float) -> int:
    deadline = time.time() + wait
    while time.time() < deadline:
        code = proc.poll()
        if code is not None:
            reason = _read_reason(report) or f"the daemon exited during start (code {code})"
            print(f"textclean-daemon: {reason}\n(log: {files.log})", file=sys.stderr)
            return code or 1
        info = files.read_pid()
        # Only our own daemon's answer counts: a concurrent start may have won the port.
        if info and int(info["pid"]) == proc.pid:
            reply = query_status(endpoint, info, timeout=0.5)
            if reply and reply.get("pid") == proc.pid:
                print(
                    f"textclean daemon started (pid {proc.pid}) on {info['endpoint']}, device {reply['device']}; "
                    f"log {files.log}"
                )
                return 0
        time.sleep(0.2)
    print(
        f"textclean-daemon: no answer from the daemon (pid {proc.pid}) after {wait:.0f} s; it may still be "
        f"loading. Check `{command('status', endpoint)}` and the log {files.log}",
        file=sys.stderr,
    )
    return 1


def _read_reason(report: Path) -> str:
    try:
        return report.read_text().strip()
    except OSError:
        return ""


class _StopRequested(BaseException):
    """SIGTERM or SIGINT before the server runs: unwind, so the pid file and lock are let go."""


def run_foreground(args: argparse.Namespace, endpoint: str) -> int:
    """The daemon itself: take the port's lock, load the models, serve until SIGTERM."""
    files = DaemonFiles.for_endpoint(endpoint)
    lock = InstanceLock(files.lock)
    report = Path(args.start_report) if args.start_report else None

    def refuse(message: str, code: int) -> int:
        print(f"textclean-daemon: {message}", file=sys.stderr)
        if report is not None:
            report.write_text(message + "\n")
        return code

    if not lock.acquire(wait=LOCK_WAIT_S):
        return refuse(_already_running(endpoint, files.read_pid()), EXIT_BUSY)
    owns_pid_file = False
    server = None

    def on_signal(signum, _frame) -> None:
        if server is None:
            raise _StopRequested()
        logging.getLogger("textclean.daemon").info("signal %d: finishing requests in flight, then stopping", signum)
        server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        keys = _bind_keys(endpoint)
        try:
            endpoints.check_bind(endpoint, keys)
            endpoints.check_free(endpoint)
        except (InsecureEndpoint, EndpointError) as exc:
            return refuse(str(exc), EXIT_CONFIG)
        except EndpointBusy as exc:
            return refuse(str(exc), EXIT_BUSY)
        stale = files.read_pid()
        try:
            write_private(files.pid, json.dumps({"pid": os.getpid(), "endpoint": endpoint, "curve": keys is not None}))
            owns_pid_file = True
        except OSError as exc:
            print(
                f"textclean-daemon: cannot write the pid file {files.pid} ({exc.strerror}); "
                "`stop` will not find this daemon",
                file=sys.stderr,
            )
        server, code, message = _load_server(args, endpoint, keys, stale)
        if server is None:
            return refuse(message, code)
        server.log_problem = lambda: LogHandler.failure
        try:
            server.serve_forever()
        except EndpointBusy as exc:
            return refuse(str(exc), EXIT_BUSY)
        return 0
    except _StopRequested:
        return 0
    finally:
        if owns_pid_file:
            files.pid.unlink(missing_ok=True)
        # The lock is not let go here but by the kernel as the process ends, so that `stop`, which
        # waits for the lock, returns only when the daemon is gone, not while it is still tearing down.


def _load_server(args: argparse.Namespace, endpoint: str, keys, stale: dict | None):
    """(server, 0, "") or (None, exit code, one-line reason). The heavy imports happen here."""
    from . import protocol
    from .backend import DeviceError, ModelRunner
    from .pipeline import Pipeline
    from .server import Server
    from .weights import WeightsError

    handler = LogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    log = logging.getLogger("textclean.daemon")
    if stale and int(stale["pid"]) != os.getpid():
        log.info("replaced a stale pid file (pid %s is gone)", stale["pid"])
    limits = protocol.Limits(
        max_pixels=args.max_pixels or protocol.Limits.max_pixels,
        max_message_bytes=args.max_message_bytes or protocol.Limits.max_message_bytes,
    )
    try:
        runner = ModelRunner(args.device, allow_untrained=args.allow_untrained)
        server = Server(Pipeline(runner), endpoint, limits, keys)
    except (WeightsError, DeviceError, InsecureEndpoint) as exc:
        return None, EXIT_CONFIG, str(exc)
    if args.device == "auto" and runner.info()["device"] == "cpu":
        log.info("no CUDA device: running on the CPU")
    _warm_up(server.pipeline)
    return server, 0, ""


class LogHandler(logging.StreamHandler):
    """Logs to stderr; if that fails (disk full, read-only log), says why once, in ``status``, and goes on."""

    failure: str | None = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if LogHandler.failure is None:
            exc = sys.exc_info()[1]
            LogHandler.failure = f"the log cannot be written ({exc}); logging has stopped"


def _warm_up(pipeline) -> None:
    import numpy as np

    image = np.full((256, 256, 3), 255, np.uint8)
    image[100:140, 60:200] = 0
    mask = np.zeros((256, 256), np.uint8)
    mask[90:150, 50:210] = 255
    pipeline.segment(image)
    pipeline.inpaint(image, mask, flat_fill=False)


# ------------------------------------------------------------ stop, status


def _not_running(endpoint: str) -> str:
    lines = [f"textclean daemon: not running at {endpoint}", f"start it with: {command('start', endpoint)}"]
    others = [d for d in running_daemons() if d.get("endpoint") != endpoint]
    for d in others:
        lines.append(f"(running elsewhere: pid {d['pid']} on {d['endpoint']}: `{command('status', d['endpoint'])}`)")
    return "\n".join(lines)


def cmd_stop(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    files = DaemonFiles.for_endpoint(endpoint)
    lock = InstanceLock(files.lock)
    if lock.acquire(wait=0.5):
        # Nobody holds the port's lock, so nobody runs there and we may tidy.
        try:
            stale = files.read_pid()
            if stale:
                files.pid.unlink(missing_ok=True)
        finally:
            lock.release()
        print(_not_running(endpoint), file=sys.stderr)
        if stale:
            print(f"(removed a stale pid file: pid {stale['pid']} is gone)", file=sys.stderr)
        return EXIT_NOT_RUNNING
    info = files.read_pid()
    if info is None:
        print(
            f"textclean-daemon: a daemon is starting on {endpoint} and has not written its pid yet; "
            f"try `{command('stop', endpoint)}` again in a moment",
            file=sys.stderr,
        )
        return 1
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        # The lock, not the pid: it is let go when the daemon exits, zombie or not, and no new
        # process can inherit it the way a reused pid can.
        if not lock.held_elsewhere(wait=0.0):
            print(f"textclean daemon stopped (pid {pid}) on {info.get('endpoint', endpoint)}")
            return 0
        time.sleep(0.1)
    print(f"textclean-daemon: pid {pid} is still finishing after {args.timeout:.0f} s", file=sys.stderr)
    return 1


def cmd_status(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    files = DaemonFiles.for_endpoint(endpoint)
    info = files.read_pid()
    reply = query_status(endpoint, info)
    if reply is None:
        if info and InstanceLock(files.lock).held_elsewhere():
            print(
                f"textclean daemon: starting (pid {info['pid']}) on {info.get('endpoint', endpoint)}: loading "
                f"the models; try `{command('status', endpoint)}` again in a moment"
            )
        else:
            print(_not_running(endpoint))
        return EXIT_NOT_RUNNING
    uptime = reply["uptime_s"]
    print(f"textclean daemon: running (pid {reply['pid']}, version {reply['version']})")
    print(f"  endpoint:   {reply['endpoint']}")
    print(f"  device:     {reply['device']} ({reply['backend']})")
    models = ", ".join(f"{k} {v}" for k, v in reply["models"].items())
    print(f"  models:     {models}")
    print(f"  uptime:     {int(uptime // 3600)}h {int(uptime % 3600 // 60)}m {uptime % 60:.0f}s")
    print(
        f"  requests:   {reply['requests_served']} served, {reply['queued']} queued"
        + (f", running {reply['running']}" if reply["running"] else "")
    )
    print(f"  last error: {reply['last_error'] or 'none'}")
    if reply.get("log_error"):
        print(f"  log:        {reply['log_error']}")
    print(f"  log file:   {files.log}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    d = keys_dir()
    if (d / "client.json").exists() and not args.replace:
        print(
            f"CURVE keys already exist in {d}; `textclean-daemon keys --replace` makes new ones "
            "(clients then need the new client.json)"
        )
        return 0
    client_file = endpoints.make_keys(d)
    example = (
        endpoint if not endpoints.is_loopback(endpoint) else f"tcp://0.0.0.0:{endpoints.parse(endpoint).port or 47711}"
    )
    print(
        f"CURVE keys written to {d} (user-only permissions).\n"
        f"Give clients {client_file}; non-loopback endpoints are now accepted, e.g. "
        f"`{command('start', example)}`"
    )
    return 0


def cmd_install_service(args: argparse.Namespace) -> int:
    from .service import install_service

    return install_service(resolve_endpoint(args.endpoint), args)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=None,
        help=f"where the daemon listens (default {endpoints.DEFAULT_ENDPOINT} or $TEXTCLEAN_ENDPOINT)",
    )
    ap = argparse.ArgumentParser(
        prog="textclean-daemon", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", parents=[common], help="start the daemon (in the background unless --foreground)")
    s.add_argument("--foreground", action="store_true", help="stay attached (for service managers)")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--max-pixels", type=int, default=0, help="largest image accepted, in pixels")
    s.add_argument("--max-message-bytes", type=int, default=0, help="largest message frame accepted")
    s.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the daemon to answer")
    s.add_argument("--allow-untrained", action="store_true", help=argparse.SUPPRESS)
    s.add_argument("--start-report", default=None, help=argparse.SUPPRESS)
    t = sub.add_parser("stop", parents=[common], help="stop gracefully: requests in flight finish")
    t.add_argument("--timeout", type=float, default=300.0)
    sub.add_parser("status", parents=[common], help="endpoint, device, models, uptime, requests, last error")
    k = sub.add_parser("keys", parents=[common], help="make CURVE keys for non-loopback endpoints")
    k.add_argument("--replace", action="store_true", help="make new keys even if there are some")
    from .service import add_arguments

    add_arguments(
        sub.add_parser(
            "install-service",
            parents=[common],
            help="run the daemon at login: a systemd user unit (Linux) or launchd agent (macOS)",
        )
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "start": cmd_start,
        "stop": cmd_stop,
        "status": cmd_status,
        "keys": cmd_keys,
        "install-service": cmd_install_service,
    }
    try:
        return commands[args.command](args)
    except Refused as exc:
        print(f"textclean-daemon: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
