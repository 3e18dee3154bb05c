"""Krita actions (Tools > Scripts > textclean), so users can bind shortcuts to them."""

from __future__ import annotations

from krita import Extension

from . import core
from .client import editor
from .docker import notify, read_settings

ACTION_IDS = {
    "remove": "textclean_remove_text",
    "select": "textclean_select_text",
    "inpaint": "textclean_inpaint_selection",
}


class TextcleanExtension(Extension):
    def __init__(self, parent) -> None:
        super().__init__(parent)
        self._jobs = []

    def setup(self) -> None:
        pass

    def createActions(self, window) -> None:
        for kind, spec in editor.ACTIONS.items():
            action = window.createAction(ACTION_IDS[kind], f"textclean: {spec.label}", "tools/scripts")
            action.triggered.connect(lambda _=False, k=kind: self.trigger(k))

    def trigger(self, kind: str) -> None:
        from .actions import Job

        try:
            job = Job(kind, settings=read_settings())
        except core.PluginError as exc:
            notify(editor.user_message(exc))
            return
        self._jobs.append(job)
        job.start(self._done)

    def _done(self, job) -> None:
        self._jobs.remove(job)
        try:
            job.apply()
        except Exception as exc:  # shown, never raised into Krita's event loop
            notify(editor.user_message(exc, job.endpoint))
