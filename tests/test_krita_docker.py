"""The Krita docker, actions and scripting API on PyQt5 (Krita 5) and PyQt6 (Krita 6), against a Krita
stand-in (tests/mock/krita.py), offscreen, and a real daemon. Real Krita 5 is in test_krita.py; there is
no Krita 6 package to run, so its Qt 6 side is tested here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .helpers import RunningServer, free_port, lettered_page

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def server(pipeline):
    running = RunningServer(pipeline)
    yield running
    running.stop()


def bgra(rgb: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)


@pytest.mark.parametrize("binding", ["PyQt5", "PyQt6"])
def test_the_docker_actions_and_scripts_work(binding, server, tmp_path):
    pytest.importorskip(binding + ".QtWidgets")
    rgb = lettered_page()  # the shipped segmenter must find text for Remove and Select to act on
    h, w = rgb.shape[:2]
    (tmp_path / "page.raw").write_bytes(bgra(rgb).tobytes())
    dead = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TEXTCLEAN_TEST_QT": binding}
    r = subprocess.run(
        [
            sys.executable,
            str(HERE / "mock" / "docker_scenario.py"),
            server.endpoint,
            dead,
            str(tmp_path / "page.raw"),
            str(w),
            str(h),
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result_file = tmp_path / "result.json"
    assert result_file.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(result_file.read_text())
    assert "exception" not in res, res["exception"]

    assert res["binding"] == binding
    assert res["registered"] == {"extensions": 1, "dockers": ["textclean_docker"]}
    assert res["actions"] == ["textclean_inpaint_selection", "textclean_remove_text", "textclean_select_text"]
    assert res["buttons"] == {"remove": "Remove Text", "select": "Select Text", "inpaint": "Inpaint Selection"}
    assert res["ranges"] == {"threshold": [0.0, 0.99], "grow": [0, 64]}  # from textclean_client.params
    assert res["connected"], res["status_connected"]
    assert res["saved"] == {"endpoint": server.endpoint, "grow": "5", "threshold": "0.0"}

    assert res["busy_while_running"] and res["remove_finished"]
    removed = res["remove"]
    assert removed["layers"] == ["Background", "Text removed"] and removed["original_unchanged"]
    assert removed["original_writes"] == 1, "the docker wrote to the original layer"
    assert removed["progress"] == 1000 and "last run" in removed["status"] and removed["enabled_after"]
    before = bgra(rgb)
    after = np.frombuffer((tmp_path / "removed.raw").read_bytes(), np.uint8).reshape(h, w, 4)
    selection = np.frombuffer((tmp_path / "remove_selection.raw").read_bytes(), np.uint8).reshape(h, w)
    assert selection.any() and np.array_equal(after[selection == 0], before[selection == 0])

    assert res["select"]["new_layers"] == 0 and res["select"]["selected"] > 0

    refused = res["inpaint_refused"]
    assert refused["status"] == "textclean: select the area to inpaint first" and not refused["job"]
    assert refused["messages"] == [refused["status"]] and "Inpainted" not in refused["layers"]

    assert res["inpaint"]["made"], res["inpaint"]
    inpainted = np.frombuffer((tmp_path / "inpainted.raw").read_bytes(), np.uint8).reshape(h, w, 4)
    inside = np.zeros((h, w), bool)
    inside[60:110, 40:120] = True
    assert np.array_equal(inpainted[~inside], before[~inside])

    assert res["restored"] == {"grow": 5, "endpoint": server.endpoint}

    hint = f"textclean-daemon start --endpoint {dead}"
    assert "not running" in res["dead_check"] and res["dead_check"].endswith(hint)
    assert res["dead_run"]["status"].endswith(hint) and res["dead_run"]["new_layers"] == 0
    assert res["dead_run"]["messages"] == [res["dead_run"]["status"]]

    assert res["action_started"] and res["action_selected"]
    assert res["script"] == {"returned": "Node", "name": "Text removed"}
    assert res["script_bad"].startswith("PluginError: grow must be 0..64")
    assert res["final_original_unchanged"]


def test_the_plugin_uses_no_qt_binding_directly():
    """Every Qt import goes through qt.py, so the plugin loads on PyQt5 and PyQt6 alike."""
    plugin = HERE.parent / "plugins" / "krita" / "pykrita" / "textclean_krita"
    for path in plugin.glob("*.py"):
        if path.name == "qt.py":
            continue
        text = path.read_text()
        assert "PyQt5" not in text and "PyQt6" not in text, f"{path.name} imports a Qt binding itself"
