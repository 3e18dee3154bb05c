"""Running the real GIMP and Krita in the cached Debian trixie root, for the editor tests.

The root is built once by ``build-root.sh`` at a fixed path outside the
checkout. Commands run in it through ``chroot`` with /proc and /dev
mounted; ``hide`` makes Python packages (pyzmq, msgpack) unimportable for
one run, through a private mount namespace, to exercise the plugins'
built-in client exactly as on an editor build without them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(os.environ.get("TEXTCLEAN_EDITOR_ROOT", "/var/cache/textclean/trixie-editors"))
DIST = "usr/lib/python3/dist-packages"


def unavailable_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the real-editor tests need Linux"
    if os.geteuid() != 0:
        return "the real-editor tests need root (chroot, mount, mmdebstrap)"
    if not shutil.which("chroot") or not shutil.which("unshare"):
        return "chroot/unshare missing"
    return None


def ensure_root() -> Path:
    subprocess.run([str(REPO / "tests" / "editors" / "build-root.sh"), str(ROOT)], check=True)
    for name in ("zmq", "msgpack"):  # stand-ins that make `import NAME` fail, for `hide`
        fake = ROOT / "opt" / "textclean-hidden" / name
        fake.mkdir(parents=True, exist_ok=True)
        (fake / "__init__.py").write_text(f"raise ImportError('{name} hidden by the textclean editor tests')\n")
    return ROOT


@contextlib.contextmanager
def mounted():
    """/proc and /dev inside the root for the duration; unmounted after if we mounted them."""
    done = []
    for target, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
        path = ROOT / target
        if subprocess.run(["mountpoint", "-q", str(path)]).returncode != 0:
            subprocess.run(["mount", *args, str(path)], check=True)
            done.append(path)
    try:
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["umount", "-l", str(path)], check=False)


def run_in_root(cmd: list[str], env: dict[str, str], hide: tuple[str, ...] = (), timeout: float = 300
                ) -> subprocess.CompletedProcess:
    environment = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                   *[f"{k}={v}" for k, v in env.items()]]
    inner = ["chroot", str(ROOT), *environment, *cmd]
    if hide:
        binds = " && ".join(f"mount --bind {ROOT}/opt/textclean-hidden/{n} {ROOT}/{DIST}/{n}" for n in hide)
        inner = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 f"{binds} && exec " + " ".join(_quote(a) for a in inner)]
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
        return subprocess.run([sys.executable, "-m", "textclean.daemon", *args], env=self.env, capture_output=True,
                              text=True, timeout=300)

    def start(self) -> None:
        r = self.cli("start", "--device", "cpu")
        assert r.returncode == 0, r.stderr

    def stop(self) -> None:
        self.cli("stop", "--timeout", "60")


def install_plugin(editor: str, dest: Path, zip_dir: Path, kritarc: Path | None = None) -> None:
    args = [sys.executable, "-m", "textclean.cli", "install-plugin", editor, "--dest", str(dest),
            "--zip-dir", str(zip_dir)]
    if kritarc:
        args += ["--kritarc", str(kritarc)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
