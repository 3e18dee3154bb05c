"""The GIMP plug-in inside the real GIMP 3.0.4 (headless), against the real daemon.

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

pytestmark = [pytest.mark.editors, pytest.mark.skipif(harness.unavailable_reason() is not None,
                                                      reason=str(harness.unavailable_reason()))]

HOME = "/tmp/gimp-home"


@pytest.fixture(scope="module")
def installed(root, tmp_path_factory):
    home = root / HOME.lstrip("/")
    shutil.rmtree(home, ignore_errors=True)
    plugins = home / ".config" / "GIMP" / "3.0" / "plug-ins"
    harness.install_plugin("gimp", plugins, tmp_path_factory.mktemp("zip"))
    assert (plugins / "textclean" / "textclean.py").stat().st_mode & 0o111
    return home


def run_gimp(root: Path, page: np.ndarray, scenario: dict, hide: tuple[str, ...] = ()) -> tuple[dict, Path]:
    base = root / "tmp" / "tc"
    shutil.rmtree(base, ignore_errors=True)
    (base / "out").mkdir(parents=True)
    cv2.imwrite(str(base / "page.png"), page[..., ::-1])
    (base / "scenario.json").write_text(json.dumps(scenario))
    shutil.copy(harness.REPO / "tests" / "editors" / "gimp_scenario.py", base / "scenario.py")
    proc = harness.run_in_root(
        ["gimp-console-3.0", "-idf", "--batch-interpreter", "python-fu-eval", "-b",
         "exec(open('/tmp/tc/scenario.py').read())", "--quit"],
        {"HOME": HOME}, hide=hide, timeout=300)
    result_file = base / "out" / "result.json"
    assert result_file.exists(), f"GIMP wrote no result:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    assert "exception" not in result, result["exception"]
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


def check_selection(sel: np.ndarray, truth) -> None:
    text = truth.label == 1
    selected = sel > 127
    assert selected[text].mean() > 0.85, f"only {selected[text].mean():.1%} of the text is selected"
    near = cv2.dilate((truth.label > 0).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert (selected & ~near).sum() < 0.1 * selected.sum(), "much of the selection is far from any text"


def test_remove_text_with_pyzmq(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text",
                                             "params": {"endpoint": daemon.endpoint}})
    check_text_removed(result, out, truth)


def test_remove_text_with_the_builtin_client(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text",
                                             "params": {"endpoint": daemon.endpoint}}, hide=("zmq", "msgpack"))
    check_text_removed(result, out, truth)


def test_remove_text_on_a_16_bit_image(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "precision": "u16",
                                             "params": {"endpoint": daemon.endpoint}})
    assert "u16" in result["encoding"]
    check_text_removed(result, out, truth)


def test_select_text_only_selects(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-select-text",
                                             "params": {"endpoint": daemon.endpoint}})
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["layers"] == result["layers_before"]
    check_selection(selection(out, result), truth)


def test_remove_text_looks_only_inside_the_selection(root, installed, daemon, truth):
    x, y, w, h = 0, 0, 300, 250
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "select": [x, y, w, h],
                                             "params": {"endpoint": daemon.endpoint}})
    assert result["status"] == "success"
    sel = selection(out, result)
    outside = np.ones_like(sel, bool)
    outside[y:y + h, x:x + w] = False
    assert not sel[outside].any()
    assert sel[~outside].any()


def test_inpaint_selection(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-inpaint-selection",
                                             "select": [40, 60, 80, 50], "params": {"endpoint": daemon.endpoint}})
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["new_layer"]["name"] == "Inpainted"
    before, after = layer_pixels(out, "before.raw", result), layer_pixels(out, "new.raw", result)
    inside = np.zeros(before.shape[:2], bool)
    inside[60:110, 40:120] = True
    assert np.array_equal(after[~inside], before[~inside])


def test_layer_with_offsets_larger_than_the_canvas(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "offset": [-20, -10],
                                             "params": {"endpoint": daemon.endpoint}})
    assert result["status"] == "success" and result["original_unchanged"]
    assert result["offsets"] == [-20, -10] and result["width"] > result["canvas"][0]
    assert result["new_layer"]["offsets"] == [-20, -10]
    before, after = layer_pixels(out, "before.raw", result), layer_pixels(out, "new.raw", result)
    sel = selection(out, result)
    assert np.array_equal(after[sel == 0][:, 3], before[sel == 0][:, 3])
    assert sel.any()


def test_grayscale_image(root, installed, daemon, truth):
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text", "grayscale": True,
                                             "params": {"endpoint": daemon.endpoint}})
    assert result["encoding"].startswith("Y")
    check_text_removed(result, out, truth)


def test_daemon_stopped_gives_a_clear_error_and_changes_nothing(root, installed, truth):
    endpoint = f"tcp://127.0.0.1:{harness.free_port()}"
    result, out = run_gimp(root, truth.raw, {"procedure": "plug-in-textclean-remove-text",
                                             "params": {"endpoint": endpoint}})
    assert result["status"] == "execution-error"
    assert "textclean-daemon start" in result["error"]
    assert result["original_unchanged"] and result["layers"] == result["layers_before"]
    assert result["selection_empty"]
