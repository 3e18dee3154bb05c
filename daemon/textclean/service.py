"""``textclean-daemon install-service``: run the daemon at login, under the system's own service manager.

Linux: a systemd user unit in ``~/.config/systemd/user/``. macOS: a launchd
agent in ``~/Library/LaunchAgents/``. Both run ``start --foreground``, which
is what a service manager wants: it owns the process, restarts it if it
crashes, and stops it with SIGTERM (which lets requests in flight finish).
An existing file with other contents is kept as ``NAME.bak``.
"""

from __future__ import annotations

import argparse
import os
import plistlib
import shlex
import sys
from pathlib import Path

from .endpoints import DEFAULT_ENDPOINT, state_key

LABEL = "org.textclean.daemon"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="folder to write the unit or agent into (default: the service manager's user folder)",
    )
    p.add_argument("--platform", default=sys.platform, help=argparse.SUPPRESS)


def service_name(endpoint: str) -> str:
    """One service per port, like the daemons themselves; the default port's has the plain name."""
    return "textclean-daemon" if endpoint == DEFAULT_ENDPOINT else f"textclean-daemon-{state_key(endpoint)}"


def daemon_command(endpoint: str, device: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "textclean.daemon",
        "start",
        "--foreground",
        "--endpoint",
        endpoint,
        "--device",
        device,
    ]


def _systemd_quote(arg: str) -> str:
    """One word for a unit file: quoted when it needs to be, and ``%`` doubled (systemd's specifier sign)."""
    arg = arg.replace("%", "%%")
    if arg and all(c.isalnum() or c in "/._-:=+,@%" for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(endpoint: str, device: str, env: dict[str, str]) -> str:
    exec_start = " ".join(_systemd_quote(a) for a in daemon_command(endpoint, device))
    lines = [
        "[Unit]",
        f"Description=textclean daemon on {endpoint} (text removal for the GIMP and Krita plugins)",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        *[f"Environment={_systemd_quote(f'{k}={v}')}" for k, v in sorted(env.items())],
        "Restart=on-failure",
        "RestartSec=5",
        # 2: bad configuration (weights, device, refused endpoint); 4: the port is taken. Retrying cannot help.
        "RestartPreventExitStatus=2 4",
        # A graceful stop lets the request in flight finish.
        "TimeoutStopSec=120",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(endpoint: str, device: str, env: dict[str, str], log: Path) -> bytes:
    agent = {
        "Label": LABEL if endpoint == DEFAULT_ENDPOINT else f"{LABEL}.{state_key(endpoint)}",
        "ProgramArguments": daemon_command(endpoint, device),
        "RunAtLoad": True,
        # Restart after a crash, not after a clean stop or a refusal.
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
        "ProcessType": "Interactive",
    }
    if env:
        agent["EnvironmentVariables"] = dict(sorted(env.items()))
    return plistlib.dumps(agent)


def _passed_environment() -> dict[str, str]:
    """The settings a service would not otherwise see: the service manager starts with a bare environment."""
    return {k: os.environ[k] for k in ("TEXTCLEAN_STATE_DIR", "TEXTCLEAN_WEIGHTS_DIR") if os.environ.get(k)}


def _write_keeping_backup(path: Path, data: bytes) -> str:
    """Write ``path``; returns what happened to what was there, for the user."""
    path.parent.mkdir(parents=True, exist_ok=True)
    note = ""
    if path.exists():
        old = path.read_bytes()
        if old == data:
            return "unchanged: it was already installed"
        backup = path.with_name(path.name + ".bak")
        backup.write_bytes(old)
        note = f"the previous one is kept as {backup}"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return note


def install_service(endpoint: str, args: argparse.Namespace) -> int:
    from .statedir import DaemonFiles

    env = _passed_environment()
    name = service_name(endpoint)
    if args.platform.startswith("linux"):
        dest = args.dest or Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "systemd" / "user"
        path = dest / f"{name}.service"
        note = _write_keeping_backup(path, systemd_unit(endpoint, args.device, env).encode())
        print(f"Wrote the systemd user unit {path}" + (f" ({note})" if note else ""))
        print(
            "Stop a daemon started by hand first (`textclean-daemon stop`), then enable it with:\n"
            f"    systemctl --user daemon-reload\n    systemctl --user enable --now {name}.service\n"
            f"It then starts at every login. Logs: journalctl --user -u {name}.service\n"
            f"To start it at boot without logging in: loginctl enable-linger {shlex.quote(_user())}"
        )
        return 0
    if args.platform == "darwin":
        dest = args.dest or Path.home() / "Library" / "LaunchAgents"
        label = LABEL if endpoint == DEFAULT_ENDPOINT else f"{LABEL}.{state_key(endpoint)}"
        path = dest / f"{label}.plist"
        log = DaemonFiles.for_endpoint(endpoint).log
        note = _write_keeping_backup(path, launchd_plist(endpoint, args.device, env, log))
        print(f"Wrote the launchd agent {path}" + (f" ({note})" if note else ""))
        print(
            "Stop a daemon started by hand first (`textclean-daemon stop`), then load it with:\n"
            f"    launchctl bootstrap gui/$(id -u) {shlex.quote(str(path))}\n"
            f"It then starts at every login. Log: {log}"
        )
        return 0
    print(
        "textclean-daemon: install-service knows systemd (Linux) and launchd (macOS); on Windows, add a Task "
        "Scheduler task at log-on that runs: " + " ".join(daemon_command(endpoint, args.device)),
        file=sys.stderr,
    )
    return 2


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name to be found: the hint still reads right
        return "$USER"
