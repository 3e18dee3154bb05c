"""The three actions, callable from scripts: remove_text, select_text, inpaint_selection.

    from textclean_krita import actions
    node = actions.remove_text()                 # active document and node
    sel = actions.select_text(doc, node, threshold=0.6)

Each blocks until done and returns the new node (remove_text,
inpaint_selection) or the new selection (select_text). The daemon is asked
from a worker thread while Krita's event loop keeps running, and every
call into Krita happens on the GUI thread. The original node is only read.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from krita import Krita, Selection

from . import core
from .client import editor, tc
from .qt import QEventLoop, QObject, QTimer, exec_loop, pyqtSignal

Progress = Callable[[float, str], None]


class _Bridge(QObject):
    """Carries worker-thread events to the GUI thread (queued signals)."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal()


class Job:
    """One request to the daemon, run on a worker thread."""

    def __init__(
        self, kind: str, document=None, node=None, settings: dict | None = None, on_progress: Progress | None = None
    ) -> None:
        app = Krita.instance()
        self.document = document or app.activeDocument()
        if self.document is None:
            raise core.PluginError("open an image first")
        self.node = node or self.document.activeNode()
        if self.node is None or self.node.type() not in core.LAYER_TYPES:
            raise core.PluginError("select a layer first")
        if kind not in editor.ACTIONS:
            raise core.PluginError(f"unknown action {kind!r}")
        self.kind = kind
        self.settings = {**core.DEFAULTS, **(settings or {})}
        self.endpoint = str(self.settings["endpoint"])
        editor.params(self.settings)  # a bad value is refused now, before anything is read or sent
        self.on_progress = on_progress
        self.client: tc.Client | None = None
        self.result = None
        self.error: BaseException | None = None
        self.seconds: float | None = None
        self._bridge = _Bridge()
        if on_progress:
            self._bridge.progress.connect(on_progress)
        # Read everything from Krita now, on the GUI thread.
        bounds = self.node.bounds()
        if bounds.isEmpty():
            raise core.PluginError("the active layer is empty")
        self.x, self.y, self.w, self.h = bounds.x(), bounds.y(), bounds.width(), bounds.height()
        self.layout, self.depth = core.wire_format(self.node.colorModel(), self.node.colorDepth())
        self.image = core.image_request(
            bytes(self.node.pixelData(self.x, self.y, self.w, self.h)),
            self.w,
            self.h,
            self.node.colorModel(),
            self.node.colorDepth(),
        )
        selection = self.document.selection()
        self.region = core.region_request(
            bytes(selection.pixelData(self.x, self.y, self.w, self.h)) if selection is not None else None,
            self.w,
            self.h,
        )
        editor.check_region(kind, self.region)

    def start(self, on_done: Callable[["Job"], None]) -> None:
        self._bridge.finished.connect(lambda: on_done(self))
        threading.Thread(target=self._run, name="textclean-request", daemon=True).start()

    def cancel(self) -> None:
        if self.client is not None:
            self.client.cancel()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self.client = tc.connect(self.endpoint, timeout=300)
            self.result = editor.run(
                self.client, self.kind, self.image, self.region, self.settings, self._bridge.progress.emit
            )
        except BaseException as exc:  # reported on the GUI thread
            self.error = exc
        finally:
            if self.client is not None:
                self.client.close()
            self.seconds = time.perf_counter() - t0
            self._bridge.finished.emit()

    # ------------------------------------------------ GUI thread, afterwards

    def apply(self):
        """Put the result into the document; returns the new node or selection.

        Krita's scripting API has no way to group edits into one undo step, and
        from Krita 5.3 on a new selection is an undo step of its own. The
        selection is therefore set first and the layer added last, so that one
        Ctrl+Z takes the new layer away (on 5.3 a second one restores the old
        selection). Both results are checked before either is applied.
        """
        if self.error is not None:
            raise self.error
        mask, image = self.result
        data = editor.check_result(image, self.w, self.h, self.layout, self.depth) if image is not None else None
        mask_data = editor.check_result(mask, self.w, self.h, "GRAY", "u8") if mask is not None else None
        out = None
        if mask_data is not None:
            selection = Selection()
            selection.setPixelData(mask_data, self.x, self.y, self.w, self.h)
            self.document.setSelection(selection)
            out = selection
        if data is not None:
            new = self.document.createNode(editor.ACTIONS[self.kind].layer, "paintlayer")
            if (new.colorModel(), new.colorDepth()) != (self.node.colorModel(), self.node.colorDepth()):
                new.setColorSpace(self.node.colorModel(), self.node.colorDepth(), self.node.colorProfile())
            parent = self.node.parentNode() or self.document.rootNode()
            parent.addChildNode(new, self.node)
            new.setPixelData(data, self.x, self.y, self.w, self.h)
            out = new
        self.document.refreshProjection()
        return out


def _run_blocking(kind: str, document, node, params: dict):
    job = Job(kind, document, node, params)
    loop = QEventLoop()
    job.start(lambda _job: QTimer.singleShot(0, loop.quit))
    exec_loop(loop)
    return job.apply()


def remove_text(document=None, node=None, **params):
    """Find the text (inside the selection, if any) and paint it out into a new layer; returns it."""
    return _run_blocking("remove", document, node, params)


def select_text(document=None, node=None, **params):
    """Set the selection to the detected text; returns the selection."""
    return _run_blocking("select", document, node, params)


def inpaint_selection(document=None, node=None, **params):
    """Fill the selection with the inpainter into a new layer; returns it."""
    return _run_blocking("inpaint", document, node, params)
