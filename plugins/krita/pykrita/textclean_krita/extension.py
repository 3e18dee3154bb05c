"""Krita actions (Tools > Scripts > textclean), so users can bind shortcuts to them."""

from __future__ import annotations

from krita import Extension

from . import core
from .docker import notify, read_settings

ACTIONS = (("textclean_remove_text", "Remove Text", "remove"),
           ("textclean_select_text", "Select Text", "select"),
           ("textclean_inpaint_selection", "Inpaint Selection", "inpaint"))


class TextcleanExtension(Extension):
    def __init__(self, parent) -> None:
        super().__init__(parent)
        self._jobs = []

    def setup(self) -> None:
        pass

    def createActions(self, window) -> None:
        for action_id, text, kind in ACTIONS:
            action = window.createAction(action_id, f"textclean: {text}", "tools/scripts")
            action.triggered.connect(lambda _=False, k=kind: self.trigger(k))

    def trigger(self, kind: str) -> None:
        from .actions import Job

        try:
            job = Job(kind, settings=read_settings())
        except core.PluginError as exc:
            notify(f"textclean: {exc}")
            return
        self._jobs.append(job)
        job.start(self._done)

    def _done(self, job) -> None:
        self._jobs.remove(job)
        try:
            job.apply()
        except Exception as exc:  # shown, never raised into Krita's event loop
            notify(f"textclean: {exc}")
