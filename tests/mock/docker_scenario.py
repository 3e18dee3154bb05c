"""The textclean docker, its Tools > Scripts actions and the scripting API, driven as a user would, on the
Krita stand-in, offscreen, under the Qt binding in TEXTCLEAN_TEST_QT. Run by tests/test_krita_docker.py:

    python docker_scenario.py ENDPOINT DEAD_ENDPOINT PAGE.raw WIDTH HEIGHT OUT_DIR

It writes OUT_DIR/result.json and the pixels the test judges; the test asserts.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO / "plugins" / "krita" / "pykrita"), str(REPO / "plugins" / "common")]


def main() -> None:
    endpoint, dead, page_path, w, h, out = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
        int(sys.argv[5]),
        Path(sys.argv[6]),
    )
    result: dict = {}
    try:
        run(result, endpoint, dead, Path(page_path).read_bytes(), w, h, out)
    except Exception:
        result["exception"] = traceback.format_exc()
    (out / "result.json").write_text(json.dumps(result))


def run(result: dict, endpoint: str, dead: str, page: bytes, w: int, h: int, out: Path) -> None:
    from krita import Krita, QApplication, Selection

    app = Krita.instance()
    doc = app.createDocument(w, h, "page", "RGBA", "U8", "", 300.0)
    app.setActiveDocument(doc)
    node = doc.activeNode()
    node.setPixelData(page, 0, 0, w, h)

    import textclean_krita  # registers the extension and the docker, as Krita's plugin loader does
    from textclean_krita import actions, qt

    result["binding"] = qt.QT_BINDING
    result["registered"] = {"extensions": len(app.extensions), "dockers": [f.id for f in app.docker_factories]}
    window = app.activeWindow()
    result["actions"] = sorted(window.created)
    assert textclean_krita

    def wait(condition, timeout: float = 120.0) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            QApplication.processEvents()
            time.sleep(0.01)
        QApplication.processEvents()
        return True

    def layers() -> list[str]:
        return [n.name() for n in doc.topLevelNodes()]

    docker = app.docker_factories[0].cls()
    result["ranges"] = {
        "threshold": [docker.threshold.minimum(), docker.threshold.maximum()],
        "grow": [docker.grow.minimum(), docker.grow.maximum()],
    }
    result["buttons"] = {k: b.text() for k, b in docker.buttons.items()}

    # The user types the endpoint: it is saved and the status line checks the daemon.
    docker.endpoint.setText(endpoint)
    docker.endpoint.editingFinished.emit()
    result["connected"] = wait(lambda: docker.status.text().startswith("connected"), 30)
    result["status_connected"] = docker.status.text()
    docker.grow.setValue(5)
    result["saved"] = {k: app.readSetting("textclean", k, "") for k in ("endpoint", "grow", "threshold")}

    # Remove Text.
    before = bytes(node.pixelData(0, 0, w, h))
    docker.buttons["remove"].click()
    result["busy_while_running"] = (not docker.buttons["remove"].isEnabled()) and docker.cancel_button.isEnabled()
    result["remove_finished"] = wait(lambda: docker.job is None)
    result["remove"] = {
        "layers": layers(),
        "status": docker.status.text(),
        "progress": docker.progress.value(),
        "original_unchanged": bytes(node.pixelData(0, 0, w, h)) == before,
        "enabled_after": docker.buttons["remove"].isEnabled(),
        "original_writes": node.writes,
    }
    new = next(n for n in doc.topLevelNodes() if n.name() == "Text removed")
    (out / "removed.raw").write_bytes(bytes(new.pixelData(0, 0, w, h)))
    (out / "remove_selection.raw").write_bytes(bytes(doc.selection().pixelData(0, 0, w, h)))

    # Select Text: a selection, no layer.
    doc.setSelection(None)
    n_layers = len(layers())
    docker.buttons["select"].click()
    wait(lambda: docker.job is None)
    sel = doc.selection()
    result["select"] = {
        "new_layers": len(layers()) - n_layers,
        "selected": sum(1 for v in bytes(sel.pixelData(0, 0, w, h)) if v) if sel else 0,
    }

    # Inpaint Selection with nothing selected: refused at once, said in the docker and over the canvas.
    doc.setSelection(None)
    docker.buttons["inpaint"].click()
    result["inpaint_refused"] = {
        "status": docker.status.text(),
        "job": docker.job is not None,
        "messages": list(window.activeView().messages),
        "layers": layers(),
    }

    # Inpaint Selection with a rectangle selected.
    sel = Selection()
    sel.select(40, 60, 80, 50, 255)
    doc.setSelection(sel)
    docker.buttons["inpaint"].click()
    wait(lambda: docker.job is None)
    inpainted = next((n for n in doc.topLevelNodes() if n.name() == "Inpainted"), None)
    result["inpaint"] = {"status": docker.status.text(), "made": inpainted is not None}
    if inpainted is not None:
        (out / "inpainted.raw").write_bytes(bytes(inpainted.pixelData(0, 0, w, h)))

    # The settings come back in a new docker (a restart).
    again = app.docker_factories[0].cls()
    result["restored"] = {"grow": again.grow.value(), "endpoint": again.endpoint.text()}

    # The daemon is not there: the docker says so, with the command for this endpoint.
    docker.endpoint.setText(dead)
    docker.endpoint.editingFinished.emit()
    wait(lambda: "not running" in docker.status.text(), 30)
    result["dead_check"] = docker.status.text()
    n_layers = len(layers())
    window.activeView().messages.clear()
    docker.buttons["remove"].click()
    wait(lambda: docker.job is None)
    result["dead_run"] = {
        "status": docker.status.text(),
        "messages": list(window.activeView().messages),
        "new_layers": len(layers()) - n_layers,
    }
    docker.endpoint.setText(endpoint)
    docker.save()

    # Tools > Scripts > textclean: Select Text, as a shortcut would trigger it.
    doc.setSelection(None)
    extension = app.extensions[0]
    window.created["textclean_select_text"].trigger()
    result["action_started"] = len(extension._jobs) == 1
    wait(lambda: not extension._jobs)
    result["action_selected"] = doc.selection() is not None

    # Scripting: blocking calls return the new node or selection; bad values are refused in one line.
    doc.setSelection(None)
    returned = actions.remove_text(doc, node, endpoint=endpoint, grow=2, threshold=0.5)
    result["script"] = {"returned": type(returned).__name__, "name": returned.name()}
    try:
        actions.remove_text(doc, node, endpoint=endpoint, grow=999)
        result["script_bad"] = "accepted"
    except Exception as exc:  # the test checks which
        result["script_bad"] = f"{type(exc).__name__}: {exc}"
    result["final_original_unchanged"] = bytes(node.pixelData(0, 0, w, h)) == before


if __name__ == "__main__":
    main()
