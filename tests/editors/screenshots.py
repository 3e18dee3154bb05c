"""Screenshots of the plugins in the real GIMP and Krita under Xvfb, for the README.

    python -m tests.editors.screenshots OUT_DIR

Needs root (the cached trixie root, see build-root.sh) and installed model
weights: it starts a real daemon on 127.0.0.1, installs both plugins with
`textclean install-plugin`, and writes gimp-menu.png, gimp-before.png,
gimp-after.png and krita-docker.png.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import harness

DISPLAY = ":87"
PAGE = "/tmp/shots/page.png"

GIMP_OPEN = """
import gi
gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("{page}"))
Gimp.Display.new(image)
if {run}:
    proc = Gimp.get_pdb().lookup_procedure("plug-in-textclean-remove-text")
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", image.get_layers())
    config.set_property("endpoint", "{endpoint}")
    proc.run(config)
    image.get_layers()[1].set_visible({show_original})
Gimp.displays_flush()
"""

KRITA_HELPER = r"""
from krita import Extension, Krita
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QDockWidget


class Shot(Extension):
    def setup(self):
        pass

    def createActions(self, window):
        QTimer.singleShot(9000, self.open_page)

    def open_page(self):
        app = Krita.instance()
        app.activeWindow().qwindow().resize(1400, 1000)
        doc = app.openDocument("{page}")
        app.activeWindow().addView(doc)
        for dock in app.activeWindow().qwindow().findChildren(QDockWidget):
            if dock.objectName() == "textclean_docker":
                dock.show()
                dock.raise_()
        from textclean_krita import actions
        actions.remove_text(doc, doc.topLevelNodes()[0], endpoint="{endpoint}")
        QTimer.singleShot(6000, self.grab)

    def grab(self):
        window = Krita.instance().activeWindow().qwindow()
        window.grab().save("/tmp/shots/krita-docker.png")
        Krita.instance().activeWindow().qwindow().close()
        QTimer.singleShot(500, lambda: __import__("os")._exit(0))


Krita.instance().addExtension(Shot(Krita.instance()))
"""


def sh(cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return harness.run_in_root(["sh", "-c", cmd], {"HOME": "/tmp/shots-home", "DISPLAY": DISPLAY}, timeout=timeout)


def crop_to_content(path: Path) -> None:
    """Cut away the empty (black) part of the virtual screen around the window."""
    import cv2
    import numpy as np

    img = cv2.imread(str(path))
    ys, xs = np.nonzero(img.max(axis=2) > 0)
    if len(ys):
        cv2.imwrite(str(path), img[: ys.max() + 1, : xs.max() + 1])


def main(out_dir: str, only: str = "") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = harness.ensure_root()
    home = root / "tmp" / "shots-home"
    shots = root / "tmp" / "shots"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    shutil.copy(harness.REPO / "examples" / "manga.png", shots / "page.png")
    zips = Path(tempfile.mkdtemp())
    harness.install_plugin("gimp", home / ".config" / "GIMP" / "3.0" / "plug-ins", zips)
    harness.install_plugin("krita", home / ".local" / "share" / "krita", zips, home / ".config" / "kritarc")
    helper = home / ".local" / "share" / "krita" / "pykrita"
    (helper / "tc_shot.desktop").write_text(
        "[Desktop Entry]\nType=Service\nServiceTypes=Krita/PythonPlugin\nX-KDE-Library=tc_shot\nName=tc_shot\n"
    )
    (helper / "tc_shot").mkdir()
    daemon = harness.Daemon(Path(tempfile.mkdtemp()))
    daemon.start()
    helper_code = KRITA_HELPER.replace("{page}", PAGE).replace("{endpoint}", daemon.endpoint)
    (helper / "tc_shot" / "__init__.py").write_text(helper_code)
    with open(home / ".config" / "kritarc", "a") as f:
        f.write(f"enable_tc_shot=true\n\n[textclean]\nendpoint={daemon.endpoint}\n")
    with harness.mounted():
        xvfb = subprocess.Popen(
            ["chroot", str(root), "Xvfb", DISPLAY, "-screen", "0", "1400x1000x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(2)
        try:
            for name, run, show_original in (
                () if only == "krita" else (("before", False, True), ("after", True, False))
            ):
                (shots / "open.py").write_text(
                    GIMP_OPEN.format(page=PAGE, run=run, show_original=show_original, endpoint=daemon.endpoint)
                )
                gimp = subprocess.Popen(
                    [
                        "chroot",
                        str(root),
                        "env",
                        "-i",
                        "PATH=/usr/bin:/bin",
                        "HOME=/tmp/shots-home",
                        f"DISPLAY={DISPLAY}",
                        "gimp",
                        "-df",
                        "--no-splash",
                        "--batch-interpreter",
                        "python-fu-eval",
                        "-b",
                        "exec(open('/tmp/shots/open.py').read())",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(25)
                sh("xdotool mousemove 600 400 click 1; sleep 1", timeout=30)  # focus, no window manager here
                sh(f"import -window root /tmp/shots/gimp-{name}.png", timeout=60)
                if name == "before":
                    sh("xdotool key alt+r; sleep 2", timeout=30)  # Filte_rs
                    sh("import -window root /tmp/shots/gimp-menu.png", timeout=60)
                gimp.terminate()
                subprocess.run(["pkill", "-f", "gimp-3.0"], check=False)
                time.sleep(2)
            krita = subprocess.Popen(
                [
                    "chroot",
                    str(root),
                    "env",
                    "-i",
                    "PATH=/usr/bin:/bin",
                    "HOME=/tmp/shots-home",
                    f"DISPLAY={DISPLAY}",
                    "krita",
                    "--nosplash",
                ],
                stdout=subprocess.DEVNULL,
                stderr=open(shots / "krita.log", "w"),
            )
            try:
                krita.wait(120)
            except subprocess.TimeoutExpired:
                krita.kill()
        finally:
            xvfb.terminate()
            daemon.stop()
    for name in ("gimp-menu.png", "gimp-before.png", "gimp-after.png", "krita-docker.png"):
        if (shots / name).exists():
            shutil.copy(shots / name, out / name)
            crop_to_content(out / name)
            print(f"wrote {out / name}")
        else:
            print(f"missing {name}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots", sys.argv[2] if len(sys.argv) > 2 else "")
