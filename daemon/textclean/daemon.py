"""``textclean-daemon``: start, stop and inspect the background daemon, and make CURVE keys.

    textclean-daemon start [--foreground] [--endpoint E] [--device auto|cpu|cuda]
    textclean-daemon stop
    textclean-daemon status
    textclean-daemon keys

The default endpoint is tcp://127.0.0.1:47711 (``--endpoint`` or
``TEXTCLEAN_ENDPOINT`` override it). The pid file, log and keys live in the
user's state directory (``TEXTCLEAN_STATE_DIR`` overrides it), created
readable by the user only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import protocol

EXIT_NOT_RUNNING = 3
EXIT_BUSY = 4


def state_dir() -> Path:
    override = os.environ.get("TEXTCLEAN_STATE_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "win32":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "textclean"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "textclean"
    else:
        path = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "textclean"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def pid_path() -> Path:
    return state_dir() / "daemon.pid"


def log_path() -> Path:
    return state_dir() / "daemon.log"


def keys_dir() -> Path:
    return state_dir() / "keys"


def write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` readable and writable by the user only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def default_endpoint(arg: str | None) -> str:
    return arg or os.environ.get("TEXTCLEAN_ENDPOINT") or protocol.DEFAULT_ENDPOINT


def read_pid() -> dict | None:
    try:
        return json.loads(pid_path().read_text())
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def request(endpoint: str, op: str, timeout: float = 3.0) -> dict | None:
    """One light request (ping/status) over pyzmq; None if nobody answers in time."""
    import zmq

    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    curve = client_curve_keys()
    if curve and not _loopback(endpoint):
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = (
            curve["server_public"], curve["client_public"], curve["client_secret"])
    try:
        sock.connect(endpoint)
        sock.send(protocol.pack({"v": protocol.PROTOCOL_VERSION, "id": 1, "op": op}))
        if not sock.poll(int(timeout * 1000)):
            return None
        return protocol.unpack_header(sock.recv())
    finally:
        sock.close(0)


def _loopback(endpoint: str) -> bool:
    from .server import is_loopback

    return is_loopback(endpoint)


# ----------------------------------------------------------------- keys

def make_keys() -> Path:
    """Server key pair, one client key pair authorised to connect, and the clients' file."""
    import zmq

    d = keys_dir()
    (d / "authorized_clients").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(d, 0o700)
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    write_private(d / "server.json", json.dumps({"public": server_public.decode(), "secret": server_secret.decode()}))
    # zmq.auth's certificate format, which the authenticator reads.
    write_private(d / "authorized_clients" / "client.key",
                  f'metadata\ncurve\n    public-key = "{client_public.decode()}"\n')
    write_private(d / "client.json", json.dumps({
        "server_public": server_public.decode(), "client_public": client_public.decode(),
        "client_secret": client_secret.decode()}, indent=1))
    return d / "client.json"


def server_curve_keys():
    from .server import CurveKeys

    try:
        data = json.loads((keys_dir() / "server.json").read_text())
    except (OSError, ValueError):
        return None
    return CurveKeys(data["public"].encode(), data["secret"].encode(), str(keys_dir() / "authorized_clients"))


def client_curve_keys() -> dict | None:
    try:
        data = json.loads((keys_dir() / "client.json").read_text())
    except (OSError, ValueError):
        return None
    return {k: v.encode() for k, v in data.items()}


# ------------------------------------------------------------- commands

def cmd_start(args: argparse.Namespace) -> int:
    endpoint = default_endpoint(args.endpoint)
    existing = read_pid()
    if existing and process_alive(int(existing.get("pid", -1))):
        if request(existing.get("endpoint", endpoint), "ping") is not None:
            print(f"textclean-daemon: already running (pid {existing['pid']}) on {existing.get('endpoint')}",
                  file=sys.stderr)
            return EXIT_BUSY
    if existing and not process_alive(int(existing.get("pid", -1))):
        pid_path().unlink(missing_ok=True)
        print(f"textclean-daemon: removed a stale pid file (pid {existing.get('pid')} is gone)", file=sys.stderr)
    if args.foreground:
        return run_foreground(args, endpoint)
    return start_background(args, endpoint)


def _forwarded(args: argparse.Namespace, endpoint: str) -> list[str]:
    out = ["--endpoint", endpoint, "--device", args.device]
    if args.max_pixels:
        out += ["--max-pixels", str(args.max_pixels)]
    if args.max_message_bytes:
        out += ["--max-message-bytes", str(args.max_message_bytes)]
    if args.allow_untrained:
        out.append("--allow-untrained")
    return out


def start_background(args: argparse.Namespace, endpoint: str) -> int:
    log = log_path()
    try:
        log_file = open(log, "ab")
        os.chmod(log, 0o600)
    except OSError as exc:
        print(f"textclean-daemon: cannot write the log {log} ({exc.strerror}); logging nowhere", file=sys.stderr)
        log_file = open(os.devnull, "ab")
    cmd = [sys.executable, "-m", "textclean.daemon", "start", "--foreground", *_forwarded(args, endpoint)]
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": log_file, "stderr": subprocess.STDOUT}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    proc = subprocess.Popen(cmd, **kwargs)
    log_file.close()
    deadline = time.time() + args.wait
    while time.time() < deadline:
        code = proc.poll()
        if code is not None:
            tail = _log_tail(log)
            print(f"textclean-daemon: the daemon exited during start (code {code}).\n{tail}", file=sys.stderr)
            return code or 1
        reply = request(endpoint, "status", timeout=0.5)
        if reply and reply.get("ok"):
            print(f"textclean daemon started (pid {proc.pid}) on {endpoint}, device {reply['device']}; "
                  f"log {log}")
            return 0
        time.sleep(0.2)
    print(f"textclean-daemon: no answer from the daemon after {args.wait:.0f} s; see {log}", file=sys.stderr)
    return 1


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LogHandler(logging.StreamHandler):
    """Logs to stderr; if that fails (disk full, read-only log), says why once, in ``status``, and goes on."""

    failure: str | None = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if LogHandler.failure is None:
            exc = sys.exc_info()[1]
            LogHandler.failure = f"the log cannot be written ({exc}); logging has stopped"


def run_foreground(args: argparse.Namespace, endpoint: str) -> int:
    from .backend import DeviceError, ModelRunner
    from .pipeline import Pipeline
    from .server import EndpointBusy, InsecureEndpoint, Server, is_loopback
    from .weights import WeightsError

    handler = LogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    log = logging.getLogger("textclean.daemon")
    curve = None if is_loopback(endpoint) else server_curve_keys()
    limits = protocol.Limits(max_pixels=args.max_pixels or protocol.Limits.max_pixels,
                             max_message_bytes=args.max_message_bytes or protocol.Limits.max_message_bytes)
    try:
        if args.device == "auto":
            import torch

            if not torch.cuda.is_available():
                log.info("no CUDA device: running on the CPU")
        runner = ModelRunner(args.device, allow_untrained=args.allow_untrained)
        server = Server(Pipeline(runner), endpoint, limits, curve)
        server.log_problem = lambda: LogHandler.failure
        _check_free(endpoint)
    except (WeightsError, DeviceError, InsecureEndpoint) as exc:
        print(f"textclean-daemon: {exc}", file=sys.stderr)
        return 2
    except EndpointBusy as exc:
        print(f"textclean-daemon: {exc}", file=sys.stderr)
        return EXIT_BUSY
    _warm_up(server.pipeline)
    try:
        write_private(pid_path(), json.dumps({"pid": os.getpid(), "endpoint": endpoint}))
    except OSError as exc:
        log.warning("cannot write the pid file %s (%s); `stop` will not find this daemon", pid_path(), exc)

    def on_signal(signum, _frame) -> None:
        log.info("signal %d: finishing requests in flight, then stopping", signum)
        server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.serve_forever()
    except EndpointBusy as exc:
        print(f"textclean-daemon: {exc}", file=sys.stderr)
        return EXIT_BUSY
    finally:
        current = read_pid()
        if current and current.get("pid") == os.getpid():
            pid_path().unlink(missing_ok=True)
    return 0


def _check_free(endpoint: str) -> None:
    """Fail before the slow model load if the endpoint is taken."""
    import zmq

    from .server import EndpointBusy

    sock = zmq.Context.instance().socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.bind(endpoint)
        sock.unbind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno == zmq.EADDRINUSE:
            raise EndpointBusy(endpoint) from None
        raise
    finally:
        sock.close(0)


def _warm_up(pipeline) -> None:
    import numpy as np

    image = np.full((256, 256, 3), 255, np.uint8)
    image[100:140, 60:200] = 0
    mask = np.zeros((256, 256), np.uint8)
    mask[90:150, 50:210] = 255
    pipeline.segment(image)
    pipeline.inpaint(image, mask, flat_fill=False)


def cmd_stop(args: argparse.Namespace) -> int:
    info = read_pid()
    if not info or not process_alive(int(info.get("pid", -1))):
        if info:
            pid_path().unlink(missing_ok=True)
        print("textclean-daemon: not running", file=sys.stderr)
        return EXIT_NOT_RUNNING
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if not process_alive(pid):
            print(f"textclean daemon stopped (pid {pid})")
            return 0
        time.sleep(0.1)
    print(f"textclean-daemon: pid {pid} is still finishing after {args.timeout:.0f} s", file=sys.stderr)
    return 1


def cmd_status(args: argparse.Namespace) -> int:
    info = read_pid()
    endpoint = default_endpoint(args.endpoint) if args.endpoint or not info else info.get("endpoint")
    reply = request(endpoint, "status")
    if not reply or not reply.get("ok"):
        print(f"textclean daemon: not running at {endpoint}\nstart it with: textclean-daemon start")
        return EXIT_NOT_RUNNING
    uptime = reply["uptime_s"]
    print(f"textclean daemon: running (pid {reply['pid']}, version {reply['version']})")
    print(f"  endpoint:   {reply['endpoint']}")
    print(f"  device:     {reply['device']} ({reply['backend']})")
    models = ", ".join(f"{k} {v}" for k, v in reply["models"].items())
    print(f"  models:     {models}")
    print(f"  uptime:     {int(uptime // 3600)}h {int(uptime % 3600 // 60)}m {uptime % 60:.0f}s")
    print(f"  requests:   {reply['requests_served']} served, {reply['queued']} queued"
          + (f", running {reply['running']}" if reply["running"] else ""))
    print(f"  last error: {reply['last_error'] or 'none'}")
    if reply.get("log_error"):
        print(f"  log:        {reply['log_error']}")
    return 0


def cmd_keys(_args: argparse.Namespace) -> int:
    client_file = make_keys()
    print(f"CURVE keys written to {keys_dir()} (user-only permissions).\n"
          f"Give clients {client_file}; the daemon now accepts non-loopback --endpoint values.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="textclean-daemon", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"%(prog)s {sys.modules[__package__].__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", help="start the daemon (in the background unless --foreground)")
    s.add_argument("--foreground", action="store_true", help="stay attached (for service managers)")
    s.add_argument("--endpoint", default=None, help=f"default {protocol.DEFAULT_ENDPOINT} or $TEXTCLEAN_ENDPOINT")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--max-pixels", type=int, default=0, help="largest image accepted, in pixels")
    s.add_argument("--max-message-bytes", type=int, default=0, help="largest message frame accepted")
    s.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the daemon to answer")
    s.add_argument("--allow-untrained", action="store_true", help=argparse.SUPPRESS)
    t = sub.add_parser("stop", help="stop gracefully: requests in flight finish")
    t.add_argument("--timeout", type=float, default=300.0)
    st = sub.add_parser("status", help="endpoint, device, models, uptime, requests, last error")
    st.add_argument("--endpoint", default=None)
    sub.add_parser("keys", help="make CURVE keys for non-loopback endpoints")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "keys": cmd_keys}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
