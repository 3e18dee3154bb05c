"""The textclean docker: three buttons, the settings, a status line, progress and Cancel."""

from __future__ import annotations

import threading

from krita import DockWidget, Krita

from . import core
from .actions import Job
from .client import editor, tc
from .qt import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QIcon,
    QLabel,
    QLineEdit,
    QObject,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

DOCKER_ID = "textclean_docker"


def read_settings() -> dict:
    app = Krita.instance()
    return {k: core.parse_setting(k, app.readSetting(core.SETTINGS_GROUP, k, str(v))) for k, v in core.DEFAULTS.items()}


def write_settings(settings: dict) -> None:
    app = Krita.instance()
    for key, value in settings.items():
        app.writeSetting(core.SETTINGS_GROUP, key, str(value))


def notify(message: str) -> None:
    """A floating message over the canvas, where the user is looking."""
    window = Krita.instance().activeWindow()
    view = window.activeView() if window else None
    if view is not None:
        view.showFloatingMessage(message, QIcon(), 6000, 1)


class _Status(QObject):
    checked = pyqtSignal(object, str, str)  # status reply or None, error, the endpoint asked


class TextcleanDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("textclean")
        self.job: Job | None = None
        self.last_run: float | None = None
        self.info: dict | None = None
        root = QWidget(self)
        layout = QVBoxLayout(root)
        buttons = QHBoxLayout()
        self.buttons = {}
        for kind, action in editor.ACTIONS.items():
            b = QPushButton(action.label, root)
            b.setToolTip(action.summary)
            b.clicked.connect(lambda _=False, k=kind: self.run(k))
            buttons.addWidget(b)
            self.buttons[kind] = b
        layout.addLayout(buttons)
        form = QFormLayout()
        settings = read_settings()
        self.threshold = QDoubleSpinBox(root)
        lo, hi, _ = editor.dialog_range("threshold")
        self.threshold.setRange(lo, hi)
        self.threshold.setSingleStep(0.05)
        self.threshold.setSpecialValueText("model default")
        self.threshold.setValue(float(settings["threshold"]))
        self.grow = QSpinBox(root)
        lo, hi, _ = editor.dialog_range("grow")
        self.grow.setRange(int(lo), int(hi))
        self.grow.setSuffix(" px")
        self.grow.setValue(int(settings["grow"]))
        self.endpoint = QLineEdit(str(settings["endpoint"]), root)
        form.addRow("Threshold", self.threshold)
        form.addRow("Grow", self.grow)
        form.addRow("Endpoint", self.endpoint)
        layout.addLayout(form)
        for widget in (self.threshold, self.grow):
            widget.valueChanged.connect(self.save)
        self.endpoint.editingFinished.connect(self.save)
        self.endpoint.editingFinished.connect(self.check_connection)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar(root)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.cancel_button = QPushButton("Cancel", root)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        progress_row.addWidget(self.progress)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        self.status = QLabel("checking the daemon…", root)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setWidget(root)
        self._status_bridge = _Status()
        self._status_bridge.checked.connect(self._on_checked)
        self.check_connection()

    def canvasChanged(self, canvas) -> None:  # required by DockWidget
        pass

    def settings(self) -> dict:
        return {
            "threshold": round(self.threshold.value(), 3),
            "grow": self.grow.value(),
            "endpoint": self.endpoint.text().strip() or core.DEFAULTS["endpoint"],
        }

    def save(self) -> None:
        write_settings(self.settings())

    def check_connection(self) -> None:
        endpoint = self.settings()["endpoint"]

        def probe() -> None:
            try:
                with tc.connect(endpoint, timeout=3) as client:
                    self._status_bridge.checked.emit(client.status(), "", endpoint)
            except tc.TextcleanError as exc:
                self._status_bridge.checked.emit(None, editor.user_message(exc, endpoint), endpoint)

        threading.Thread(target=probe, daemon=True).start()

    def _on_checked(self, info, error: str, endpoint: str) -> None:
        if endpoint != self.settings()["endpoint"]:
            return  # an answer about an endpoint the user has since changed: it would mislead
        self.info = info
        self.status.setText(core.status_line(info, error or None, self.last_run))

    def run(self, kind: str) -> None:
        if self.job is not None:
            return
        try:
            self.job = Job(kind, settings=self.settings(), on_progress=self._on_progress)
        except core.PluginError as exc:
            self._show_error(editor.user_message(exc))
            return
        for b in self.buttons.values():
            b.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.job.start(self._on_done)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, fraction: float, stage: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(f"{stage} %p%")

    def _on_done(self, job: Job) -> None:
        self.job = None
        for b in self.buttons.values():
            b.setEnabled(True)
        self.cancel_button.setEnabled(False)
        try:
            job.apply()
        except tc.Cancelled:
            self.status.setText("cancelled")
            self.progress.setValue(0)
            return
        except (core.PluginError, tc.TextcleanError) as exc:
            self._show_error(editor.user_message(exc, job.endpoint))
            return
        self.last_run = job.seconds
        self.progress.setValue(1000)
        self.status.setText(core.status_line(self.info or {"device": "?"}, None, self.last_run))

    def _show_error(self, message: str) -> None:
        self.status.setText(message)
        notify(message)
