"""Running the real GIMP and Krita in cached Debian roots, for the editor tests.

Two roots: trixie (GIMP 3.0.4, Krita 5.2.9), what most users run today, and
forky (GIMP 3.2.6, Krita 5.3.4), what they run next. Each is built once by
``build-root.sh`` at a fixed path outside the checkout
(``TEXTCLEAN_EDITOR_DISTS=trixie`` limits a run to one). Commands run in a
root through ``chroot`` with /proc and /dev mounted; ``hide`` makes Python
packages (pyzmq, msgpack) unimportable for one run, through a private mount
namespace, to exercise the plugins' built-in client exactly as on an editor
build without them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path("/var/cache/textclean")
DIST = "usr/lib/python3/dist-packages"


@dataclass(frozen=True)
class EditorRoot:
    """One Debian root and the editor versions it holds (checked by the tests, not assumed)."""

    dist: str
    gimp: str  # GIMP's version, as its binaries and config folder name it: gimp-console-3.0, GIMP/3.0
    gimp_full: str
    krita: str

    @property
    def path(self) -> Path:
        return CACHE / f"{self.dist}-editors"

    def __truediv__(self, other: str) -> Path:
        return self.path / other

    def __str__(self) -> str:
        return str(self.path)


ROOTS = {"trixie": EditorRoot("trixie", "3.0", "3.0.4", "5.2.9"), "forky": EditorRoot("forky", "3.2", "3.2.6", "5.3.4")}
DEFAULT = ROOTS["trixie"]
ROOT = DEFAULT.path  # the screenshots are taken in trixie


def dists() -> list[str]:
    """The roots this run tests: all, or those named in TEXTCLEAN_EDITOR_DISTS (comma-separated)."""
    wanted = os.environ.get("TEXTCLEAN_EDITOR_DISTS")
    return [d for d in ROOTS if not wanted or d in wanted.split(",")]


def unavailable_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the real-editor tests need Linux"
    if os.geteuid() != 0:
        return "the real-editor tests need root (chroot, mount, mmdebstrap)"
    if not shutil.which("chroot") or not shutil.which("unshare"):
        return "chroot/unshare missing"
    return None


def ensure_root(root: EditorRoot = DEFAULT) -> EditorRoot:
    subprocess.run(
        ["nice", "-n", "19", str(REPO / "tests" / "editors" / "build-root.sh"), root.dist, str(root.path)], check=True
    )
    for name in ("zmq", "msgpack"):  # stand-ins that make `import NAME` fail, for `hide`
        fake = root / "opt" / "textclean-hidden" / name
        fake.mkdir(parents=True, exist_ok=True)
        (fake / "__init__.py").write_text(f"raise ImportError('{name} hidden by the textclean editor tests')\n")
    return root


@contextlib.contextmanager
def in_use(root: EditorRoot = DEFAULT):
    """Hold the root for one test session: two sessions at once would share its /tmp/tc and homes."""
    import fcntl

    with open(root.path.with_name(root.path.name + ".in-use"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def mounted(root: EditorRoot = DEFAULT):
    """/proc and /dev inside the root for the duration; unmounted after if we mounted them."""
    done = []
    for target, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
        path = root / target
        if subprocess.run(["mountpoint", "-q", str(path)]).returncode != 0:
            subprocess.run(["mount", *args, str(path)], check=True)
            done.append(path)
    try:
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["umount", "-l", str(path)], check=False)


def run_in_root(
    cmd: list[str], env: dict[str, str], hide: tuple[str, ...] = (), timeout: float = 300, root: EditorRoot = DEFAULT
) -> subprocess.CompletedProcess:
    environment = [
        "env",
        "-i",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        *[f"{k}={v}" for k, v in env.items()],
    ]
    inner = ["chroot", str(root), *environment, *cmd]
    if hide:
        binds = " && ".join(f"mount --bind {root}/opt/textclean-hidden/{n} {root}/{DIST}/{n}" for n in hide)
        inner = [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"{binds} && exec " + " ".join(_quote(a) for a in inner),
        ]
    return subprocess.run(inner, capture_output=True, text=True, timeout=timeout)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """The real ``textclean-daemon``, outside the root, on 127.0.0.1."""

    def __init__(self, state_dir: Path) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.env = {**os.environ, "TEXTCLEAN_STATE_DIR": str(state_dir), "TEXTCLEAN_ENDPOINT": self.endpoint}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "textclean.daemon", *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def start(self) -> None:
        r = self.cli("start", "--device", "cpu")
        assert r.returncode == 0, r.stderr

    def stop(self) -> None:
        self.cli("stop", "--timeout", "60")


def install_plugin(editor: str, dest: Path, zip_dir: Path, kritarc: Path | None = None) -> None:
    args = [
        sys.executable,
        "-m",
        "textclean.cli",
        "install-plugin",
        editor,
        "--dest",
        str(dest),
        "--zip-dir",
        str(zip_dir),
    ]
    if kritarc:
        args += ["--kritarc", str(kritarc)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
