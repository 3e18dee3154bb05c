"""A stand-in for Krita's Python API (``import krita``), enough to run the textclean docker and actions.

Like krita-ai-diffusion's tests/mock/krita.py: the real classes' names and
the calls the plugin makes, backed by plain bytes, so the plugin's logic runs
outside Krita on PyQt5 (Krita 5) or PyQt6 (Krita 6), offscreen. The binding
is chosen by ``TEXTCLEAN_TEST_QT`` (PyQt5 or PyQt6) before the plugin loads,
as Krita's own ``import krita`` would have loaded its binding.

Pixels follow Krita's conventions as the real-editor tests saw them: integer
RGBA is B, G, R, A; a layer's bounds are the area painted; a selection is
one byte per pixel.
"""

from __future__ import annotations

import os

if os.environ.get("TEXTCLEAN_TEST_QT", "PyQt6") == "PyQt6":
    from PyQt6.QtCore import QByteArray, QObject, QRect
    from PyQt6.QtGui import QAction
    from PyQt6.QtWidgets import QApplication, QDockWidget, QMainWindow
else:
    from PyQt5.QtCore import QByteArray, QObject, QRect
    from PyQt5.QtWidgets import QAction, QApplication, QDockWidget, QMainWindow

_BYTES = {"U8": 1, "U16": 2, "F16": 2, "F32": 4}
_CHANNELS = {"RGBA": 4, "GRAYA": 2, "CMYKA": 5, "LABA": 4}


class _Plane:
    """A canvas-sized byte plane; reads outside the canvas give zeros, as Krita's do for unpainted areas."""

    def __init__(self, width: int, height: int, bpp: int) -> None:
        self.width, self.height, self.bpp = width, height, bpp
        self.data = bytearray(width * height * bpp)

    def read(self, x: int, y: int, w: int, h: int) -> bytes:
        out = bytearray(w * h * self.bpp)
        for row in range(h):
            cy = y + row
            if not 0 <= cy < self.height:
                continue
            x0, x1 = max(x, 0), min(x + w, self.width)
            if x1 <= x0:
                continue
            src = (cy * self.width + x0) * self.bpp
            dst = (row * w + (x0 - x)) * self.bpp
            out[dst : dst + (x1 - x0) * self.bpp] = self.data[src : src + (x1 - x0) * self.bpp]
        return bytes(out)

    def write(self, data: bytes, x: int, y: int, w: int, h: int) -> None:
        data = bytes(data)
        if len(data) != w * h * self.bpp:
            raise ValueError(f"{len(data)} bytes for {w}×{h} at {self.bpp} bytes per pixel")
        for row in range(h):
            cy = y + row
            if not 0 <= cy < self.height:
                continue
            x0, x1 = max(x, 0), min(x + w, self.width)
            if x1 <= x0:
                continue
            src = (row * w + (x0 - x)) * self.bpp
            dst = (cy * self.width + x0) * self.bpp
            self.data[dst : dst + (x1 - x0) * self.bpp] = data[src : src + (x1 - x0) * self.bpp]


class Selection:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self._plane: _Plane | None = _Plane(width, height, 1) if width else None

    def _ensure(self, w: int, h: int) -> _Plane:
        if self._plane is None:
            self._plane = _Plane(max(w, 1), max(h, 1), 1)
        return self._plane

    def select(self, x: int, y: int, w: int, h: int, value: int) -> None:
        plane = self._ensure(x + w, y + h)
        plane.write(bytes([value]) * (w * h), x, y, w, h)

    def pixelData(self, x: int, y: int, w: int, h: int) -> QByteArray:  # noqa: N802 - Krita's name
        return QByteArray(self._ensure(x + w, y + h).read(x, y, w, h))

    def setPixelData(self, data, x: int, y: int, w: int, h: int) -> None:  # noqa: N802
        self._ensure(x + w, y + h).write(bytes(data), x, y, w, h)

    def copy(self, width: int, height: int) -> Selection:
        out = Selection(width, height)
        if self._plane is not None:
            out._plane.write(self._plane.read(0, 0, width, height), 0, 0, width, height)
        return out


class Node:
    def __init__(self, document: Document, name: str, kind: str, model: str, depth: str) -> None:
        self.document, self._name, self._type = document, name, kind
        self._model, self._depth, self._profile = model, depth, "sRGB-elle-V2-srgbtrc.icc"
        self._plane = _Plane(document.width(), document.height(), _CHANNELS[model] * _BYTES[depth])
        self._bounds: QRect = QRect()
        self._parent: Node | None = None
        self._children: list[Node] = []
        self.writes = 0

    def name(self) -> str:
        return self._name

    def type(self) -> str:
        return self._type

    def colorModel(self) -> str:  # noqa: N802
        return self._model

    def colorDepth(self) -> str:  # noqa: N802
        return self._depth

    def colorProfile(self) -> str:  # noqa: N802
        return self._profile

    def setColorSpace(self, model: str, depth: str, profile: str) -> bool:  # noqa: N802
        self._model, self._depth, self._profile = model, depth, profile
        self._plane = _Plane(self.document.width(), self.document.height(), _CHANNELS[model] * _BYTES[depth])
        return True

    def bounds(self) -> QRect:
        return QRect(self._bounds)

    def pixelData(self, x: int, y: int, w: int, h: int) -> QByteArray:  # noqa: N802
        return QByteArray(self._plane.read(x, y, w, h))

    def setPixelData(self, data, x: int, y: int, w: int, h: int) -> None:  # noqa: N802
        self._plane.write(bytes(data), x, y, w, h)
        self._bounds = self._bounds.united(QRect(x, y, w, h)) if not self._bounds.isEmpty() else QRect(x, y, w, h)
        self.writes += 1

    def parentNode(self) -> Node | None:  # noqa: N802
        return self._parent

    def childNodes(self) -> list[Node]:  # noqa: N802
        return list(self._children)

    def addChildNode(self, child: Node, above: Node | None) -> bool:  # noqa: N802
        child._parent = self
        index = self._children.index(above) + 1 if above in self._children else len(self._children)
        self._children.insert(index, child)
        return True


class Document:
    def __init__(self, width: int, height: int, name: str, model: str, depth: str) -> None:
        self._width, self._height, self._name = width, height, name
        self._model, self._depth = model, depth
        self._root = Node(self, "root", "grouplayer", model, depth)
        background = Node(self, "Background", "paintlayer", model, depth)
        self._root.addChildNode(background, None)
        self._active = background
        self._selection: Selection | None = None
        self.refreshed = 0

    def width(self) -> int:
        return self._width

    def height(self) -> int:
        return self._height

    def rootNode(self) -> Node:  # noqa: N802
        return self._root

    def topLevelNodes(self) -> list[Node]:  # noqa: N802
        return self._root.childNodes()

    def activeNode(self) -> Node:  # noqa: N802
        return self._active

    def setActiveNode(self, node: Node) -> None:  # noqa: N802
        self._active = node

    def createNode(self, name: str, kind: str) -> Node:  # noqa: N802
        return Node(self, name, kind, self._model, self._depth)

    def selection(self) -> Selection | None:
        # Krita hands out a copy: changing it changes nothing until setSelection.
        return None if self._selection is None else self._selection.copy(self._width, self._height)

    def setSelection(self, selection: Selection | None) -> None:  # noqa: N802
        self._selection = None if selection is None else selection.copy(self._width, self._height)

    def refreshProjection(self) -> None:  # noqa: N802
        self.refreshed += 1

    def waitForDone(self) -> None:  # noqa: N802
        pass


class View:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def showFloatingMessage(self, message: str, icon, timeout: int, priority: int) -> None:  # noqa: N802
        self.messages.append(message)


class Window:
    def __init__(self) -> None:
        self._qwindow = QMainWindow()
        self._view = View()
        self.created: dict[str, QAction] = {}

    def qwindow(self) -> QMainWindow:
        return self._qwindow

    def activeView(self) -> View:  # noqa: N802
        return self._view

    def createAction(self, action_id: str, text: str, menu: str) -> QAction:  # noqa: N802
        action = QAction(text, self._qwindow)
        action.setObjectName(action_id)
        self.created[action_id] = action
        return action


class Extension(QObject):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)


class DockWidget(QDockWidget):
    def canvasChanged(self, canvas) -> None:  # noqa: N802
        raise NotImplementedError


class DockWidgetFactoryBase:
    DockRight = 1
    DockLeft = 0


class DockWidgetFactory:
    def __init__(self, docker_id: str, area: int, cls) -> None:
        self.id, self.area, self.cls = docker_id, area, cls


class Krita(QObject):
    _instance: Krita | None = None

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[tuple[str, str], str] = {}
        self.extensions: list = []
        self.docker_factories: list[DockWidgetFactory] = []
        self.documents: list[Document] = []
        self._active: Document | None = None
        self._window = Window()

    @classmethod
    def instance(cls) -> Krita:
        if cls._instance is None:
            global _app
            _app = QApplication.instance() or QApplication([])
            cls._instance = Krita()
        return cls._instance

    def version(self) -> str:
        return "stand-in"

    def createDocument(
        self,
        width: int,
        height: int,
        name: str,
        model: str,
        depth: str,
        profile: str,  # noqa: N802
        resolution: float,
    ) -> Document:
        doc = Document(width, height, name, model, depth)
        self.documents.append(doc)
        return doc

    def setActiveDocument(self, document: Document | None) -> None:  # noqa: N802
        self._active = document

    def activeDocument(self) -> Document | None:  # noqa: N802
        return self._active

    def activeWindow(self) -> Window:  # noqa: N802
        return self._window

    def readSetting(self, group: str, key: str, default: str) -> str:  # noqa: N802
        return self.settings.get((group, key), default)

    def writeSetting(self, group: str, key: str, value: str) -> None:  # noqa: N802
        if not isinstance(value, str):
            raise TypeError("Krita stores settings as strings")
        self.settings[(group, key)] = value

    def addExtension(self, extension) -> None:  # noqa: N802
        self.extensions.append(extension)
        extension.setup()
        extension.createActions(self._window)

    def addDockWidgetFactory(self, factory: DockWidgetFactory) -> None:  # noqa: N802
        self.docker_factories.append(factory)


_app = None
