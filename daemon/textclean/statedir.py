"""The daemon's files in the user's state directory: keys, and per port a lock, a pid file and a log.

Each daemon holds an exclusive lock on its ``daemon-KEY.lock`` for as long as
it runs (``KEY`` is the port, see ``endpoints.state_key``). Only the process
holding that lock writes or removes ``daemon-KEY.pid``, so two ``start``\\ s at
once cannot both believe they own the port, and a loser can never delete the
winner's pid file. The kernel drops the lock when a daemon dies, however it
dies, so a lock that can be taken means nobody runs there.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .endpoints import state_key


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


def keys_dir() -> Path:
    return state_dir() / "keys"


def write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` readable and writable by the user only (atomically)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class DaemonFiles:
    """The lock, pid file and log of the daemon for one endpoint's port."""

    lock: Path
    pid: Path
    log: Path

    @classmethod
    def for_endpoint(cls, endpoint: str) -> DaemonFiles:
        base = state_dir() / f"daemon-{state_key(endpoint)}"
        return cls(base.with_suffix(".lock"), base.with_suffix(".pid"), base.with_suffix(".log"))

    def read_pid(self) -> dict | None:
        """The pid file's record (pid, endpoint, curve), or None when absent or unreadable."""
        try:
            info = json.loads(self.pid.read_text())
            int(info["pid"])
            return info
        except (OSError, ValueError, KeyError, TypeError):
            return None


def running_daemons() -> list[dict]:
    """Records of this user's daemons that hold their lock, on any port.

    The lock, not the pid, says who runs: a killed daemon may linger as a
    zombie that ``kill -0`` still finds, and a pid can be reused.
    """
    out = []
    for path in sorted(state_dir().glob("daemon-*.pid")):
        files = DaemonFiles(path.with_suffix(".lock"), path, path.with_suffix(".log"))
        info = files.read_pid()
        if info and InstanceLock(files.lock).held_elsewhere(wait=0.0):
            out.append(info)
    return out


class InstanceLock:
    """An exclusive, non-inherited lock on a file, released by the kernel when the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> bool:
        """Take the lock, retrying for up to ``wait`` seconds; False if another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            if _try_lock(fd):
                self._fd = fd
                return True
            if time.monotonic() >= deadline:
                os.close(fd)
                return False
            time.sleep(0.05)

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def held_elsewhere(self, wait: float = 0.5) -> bool:
        """True if another process holds the lock. Takes it for an instant when free, which others
        tolerate: they retry for a while (``wait`` here, longer in a starting daemon)."""
        if self.acquire(wait):
            self.release()
            return False
        return True


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
