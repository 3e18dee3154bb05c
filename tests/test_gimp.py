"""The GIMP plug-in inside the real GIMP 3.0.4 and 3.2.6 (headless), against the real daemon.

Each test installs the plug-in with `textclean install-plugin gimp`, loads
an example page in gimp-console, calls a procedure through the PDB and
checks the pixels GIMP ends up with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from .editors import harness
from .helpers import check_selection

pytestmark = [
    pytest.mark.editors,
    pytest.mark.skipif(harness.unavailable_reason() is not None, reason=str(harness.unavailable_reason())),
]

HOME = "/tmp/gimp-home"


@pytest.fixture(scope="module")
def installed(root, tmp_path_factory):
    home = root / HOME.lstrip("/")
    shutil.rmtree(home, ignore_errors=True)
    plugins = home / ".config" / "GIMP" / root.gimp / "plug-ins"
    harness.install_plugin("gimp", plugins, tmp_path_factory.mktemp("zip"))
    assert (plugins / "textclean" / "textclean.py").stat().st_mode & 0o111
    return home


def run_gimp(
    root: harness.EditorRoot, page: np.ndarray, scenario: dict, hide: tuple[str, ...] = ()
) -> tuple[dict, Path]:
    base = root / "tmp" / "tc"
    shutil.rmtree(base, ignore_errors=True)
    (base / "out").mkdir(parents=True)
    cv2.imwrite(str(base / "page.png"), page[..., ::-1])
    (base / "scenario.json").write_text(json.dumps(scenario))
    shutil.copy(harness.REPO / "tests" / "editors" / "gimp_scenario.py", base / "scenario.py")
    proc = harness.run_in_root(
        [
            f"gimp-console-{root.gimp}",
            "-idf",
            "--batch-interpreter",
            "python-fu-eval",
            "-b",
            "exec(open('/tmp/tc/scenario.py').read())",
            "--quit",
        ],
        {"HOME": HOME},
        hide=hide,
        timeout=300,
        root=root,
    )
    result_file = base / "out" / "result.json"
    assert result_file.exists(), f"GIMP wrote no result:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    assert "exception" not in result, result["exception"]
    assert result["gimp_version"] == root.gimp_full, "the root holds another GIMP than the one the README names"
    return result, base / "out"


def layer_pixels(out: Path, name: str, result: dict) -> np.ndarray:
    depth = np.uint16 if "u16" in result["encoding"] else np.uint8
    channels = 4 if result["encoding"].split()[0].replace("'", "") in ("RGBA",) else 2
    a = np.fromfile(out / name, dtype=depth)
    return a.reshape(result["height"], result["width"], channels)


def selection(out: Path, result: dict) -> np.ndarray:
    return np.fromfile(out / "selection.raw", np.uint8).reshape(result["height"], result["width"])


def check_text_removed(result: dict, out: Path, truth) -> None:
    assert result["status"] == "success", result
    assert result["original_unchanged"]
    new = result["new_layer"]
    assert new["name"] == "Text removed" and new["offsets"] == result["offsets"]
    assert new["position"] < new["original_position"], "the new layer is not above the original"
    before, after = layer_pixels(out, "before.raw", result), layer_pixels(out, "new.raw", result)
    sel = selection(out, result)
    assert np.array_equal(after[sel == 0], before[sel == 0]), "pixels outside the mask changed"
    text = truth.label == 1
    scale = 257.0 if after.dtype == np.uint16 else 1.0
    rgb_after = after[..., :3].astype(float) / scale if after.shape[2] == 4 else after[..., :1].astype(float) / scale
    clean = truth.clean.astype(float) if after.shape[2] == 4 else truth.clean[..., :1].astype(float)
    left = (np.abs(rgb_after - clean).max(axis=2) > 64) & text
    assert left.sum() < 0.15 * text.sum(), f"{left.sum() / text.sum():.1%} of the text is still visible"
    check_selection(sel, truth)


def test_remove_text_with_pyzmq(root, installed, daemon, truth):
    result, out = run_gimp(
        root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "params": {"endpoint": daemon.endpoint}}
    )
    check_text_removed(result, out, truth)


def test_remove_text_with_the_builtin_client(root, installed, daemon, truth):
    result, out = run_gimp(
        root,
        truth.raw,
        {"procedure": "plug-in-textclean-remove-text", "params": {"endpoint": daemon.endpoint}},
        hide=("zmq", "msgpack"),
    )
    check_text_removed(result, out, truth)


def test_remove_text_on_a_16_bit_image(root, installed, daemon, truth):
    result, out = run_gimp(
        root,
        truth.raw,
        {"procedure": "plug-in-textclean-remove-text", "precision": "u16", "params": {"endpoint": daemon.endpoint}},
    )
    assert "u16" in result["encoding"]
    check_text_removed(result, out, truth)


def test_select_text_only_selects(root, installed, daemon, truth):
    result, out = run_gimp(
        root, truth.raw, {"procedure": "plug-in-textclean-select-text", "params": {"endpoint": daemon.endpoint}}
    )
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["layers"] == result["layers_before"]
    check_selection(selection(out, result), truth)


def test_remove_text_looks_only_inside_the_selection(root, installed, daemon, truth):
    x, y, w, h = 0, 0, 300, 250
    result, out = run_gimp(
        root,
        truth.raw,
        {"procedure": "plug-in-textclean-remove-text", "select": [x, y, w, h], "params": {"endpoint": daemon.endpoint}},
    )
    assert result["status"] == "success"
    sel = selection(out, result)
    outside = np.ones_like(sel, bool)
    outside[y : y + h, x : x + w] = False
    assert not sel[outside].any()
    assert sel[~outside].any()


def test_inpaint_selection(root, installed, daemon, truth):
    result, out = run_gimp(
        root,
        truth.raw,
        {
            "procedure": "plug-in-textclean-inpaint-selection",
            "select": [40, 60, 80, 50],
            "params": {"endpoint": daemon.endpoint},
        },
    )
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["new_layer"]["name"] == "Inpainted"
    before, after = layer_pixels(out, "before.raw", result), layer_pixels(out, "new.raw", result)
    inside = np.zeros(before.shape[:2], bool)
    inside[60:110, 40:120] = True
    assert np.array_equal(after[~inside], before[~inside])


def test_layer_with_offsets_larger_than_the_canvas(root, installed, daemon, truth):
    result, out = run_gimp(
        root,
        truth.raw,
        {"procedure": "plug-in-textclean-remove-text", "offset": [-20, -10], "params": {"endpoint": daemon.endpoint}},
    )
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["offsets"] == [-20, -10] and result["width"] > result["canvas"][0]
    assert result["new_layer"]["offsets"] == [-20, -10]
    before, after = layer_pixels(out, "before.raw", result), layer_pixels(out, "new.raw", result)
    sel = selection(out, result)
    assert np.array_equal(after[sel == 0][:, 3], before[sel == 0][:, 3])
    assert sel.any()


def test_grayscale_image(root, installed, daemon, truth):
    result, out = run_gimp(
        root,
        truth.raw,
        {"procedure": "plug-in-textclean-remove-text", "grayscale": True, "params": {"endpoint": daemon.endpoint}},
    )
    assert result["encoding"].startswith("Y")
    check_text_removed(result, out, truth)


def test_daemon_stopped_gives_a_clear_error_and_changes_nothing(root, installed, truth):
    endpoint = f"tcp://127.0.0.1:{harness.free_port()}"
    result, out = run_gimp(
        root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "params": {"endpoint": endpoint}}
    )
    assert result["status"] == "execution-error"
    assert "textclean-daemon start" in result["error"]
    assert result["original_unchanged"] and result["layers"] == result["layers_before"]
    assert result["selection_empty"]


GUI_SCRIPT = """
import os, time
import gi
gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("/tmp/tc/page.png"))
Gimp.Display.new(image)
Gimp.displays_flush()
open("/tmp/tc/shown", "w").close()
while not os.path.exists("/tmp/tc/go"):
    time.sleep(0.2)
proc = Gimp.get_pdb().lookup_procedure("plug-in-textclean-remove-text")
config = proc.create_config()
config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", image.get_layers())
config.set_property("endpoint", open("/tmp/tc/endpoint.txt").read())
proc.run(config)
Gimp.displays_flush()
open("/tmp/tc/ran", "w").close()
"""


def test_one_undo_restores_the_image_in_the_gimp_gui(root, installed, daemon, truth):
    """The PDB has no undo: drive GIMP's own Ctrl+Z under Xvfb and compare what the screen shows."""
    import subprocess
    import time

    base = root / "tmp" / "tc"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cv2.imwrite(str(base / "page.png"), truth.raw[..., ::-1])
    (base / "endpoint.txt").write_text(daemon.endpoint)
    (base / "gui.py").write_text(GUI_SCRIPT)
    display = f":{harness.free_port() % 500 + 100}"
    env = {"HOME": HOME, "DISPLAY": display}
    xvfb = subprocess.Popen(
        ["chroot", str(root), "Xvfb", display, "-screen", "0", "1200x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gimp = None
    try:
        time.sleep(2)
        gimp = subprocess.Popen(
            [
                "chroot",
                str(root),
                "env",
                "-i",
                "PATH=/usr/bin:/bin",
                f"HOME={HOME}",
                f"DISPLAY={display}",
                "gimp",
                "-df",
                "--no-splash",
                "--batch-interpreter",
                "python-fu-eval",
                "-b",
                "exec(open('/tmp/tc/gui.py').read())",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def wait_for(name: str) -> None:
            deadline = time.time() + 120
            while not (base / name).exists():
                assert time.time() < deadline, f"GIMP never got to '{name}'"
                time.sleep(0.3)
            time.sleep(4)  # let the display settle

        def screen(name: str) -> np.ndarray:
            harness.run_in_root(["import", "-window", "root", f"PNG24:/tmp/tc/{name}.png"], env, timeout=60, root=root)
            return cv2.imread(str(base / f"{name}.png"))

        wait_for("shown")
        # over GIMP, off the canvas
        harness.run_in_root(["xdotool", "mousemove", "900", "850"], env, timeout=30, root=root)
        before = screen("before")
        (base / "go").write_text("")
        wait_for("ran")
        after = screen("after")
        harness.run_in_root(["xdotool", "key", "ctrl+z"], env, timeout=30, root=root)
        time.sleep(4)
        undone = screen("undone")
    finally:
        if gimp:
            gimp.kill()
        subprocess.run(["pkill", "-f", f"gimp-{root.gimp}"], check=False)
        xvfb.kill()
    assert before is not None and before.std() > 10, "nothing was on the screen"
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 0
    assert changed.mean() > 0.01, "Remove Text changed nothing visible"
    restored = np.abs(undone.astype(int) - before.astype(int)).max(axis=2) > 0
    assert restored.mean() < 0.001, f"{restored.mean():.2%} of the screen differs after one Ctrl+Z"


UPGRADE_CHECK = """
from gi.repository import Gimp
found = Gimp.get_pdb().lookup_procedure("plug-in-textclean-remove-text") is not None
open("/tmp/tc/upgrade.txt", "w").write(Gimp.version() + (" found" if found else " missing"))
"""


def test_the_default_folder_reaches_gimp_3_2_after_3_0(root, tmp_path):
    """A user who has only run GIMP 3.0 gets the plug-in in GIMP/3.0 (install-plugin's default); GIMP 3.2
    copies that folder on its first start and finds the plug-in there."""
    import os
    import subprocess
    import sys

    if root.gimp == "3.0":
        pytest.skip("this is about a GIMP newer than 3.0")
    home = root / "tmp" / "upgrade-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    r = subprocess.run(
        [sys.executable, "-m", "textclean.cli", "install-plugin", "gimp", "--zip-dir", str(tmp_path)],
        env={**os.environ, "XDG_CONFIG_HOME": str(home / ".config")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and str(home / ".config" / "GIMP" / "3.0" / "plug-ins" / "textclean") in r.stdout
    base = root / "tmp" / "tc"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    (base / "check.py").write_text(UPGRADE_CHECK)
    harness.run_in_root(
        [
            f"gimp-console-{root.gimp}",
            "-idf",
            "--batch-interpreter",
            "python-fu-eval",
            "-b",
            "exec(open('/tmp/tc/check.py').read())",
            "--quit",
        ],
        {"HOME": "/tmp/upgrade-home"},
        timeout=300,
        root=root,
    )
    assert (base / "upgrade.txt").read_text() == f"{root.gimp_full} found"
