"""The Qt names the plugin uses, from PyQt5 (Krita 5) or PyQt6 (Krita 6).

Krita 5.x embeds PyQt5 and Krita 6 PyQt6, and ``import krita`` has loaded
the one Krita runs on before this module is imported, so that one is used;
only outside Krita is the choice left to what imports. The plugin uses no
enum or call whose spelling differs between the two, except the event
loop's ``exec`` (PyQt6 dropped ``exec_``).
"""

import sys

if "PyQt6.QtCore" in sys.modules:
    from PyQt6 import QtCore, QtGui, QtWidgets
elif "PyQt5.QtCore" in sys.modules:
    from PyQt5 import QtCore, QtGui, QtWidgets
else:
    try:
        from PyQt5 import QtCore, QtGui, QtWidgets
    except ImportError:
        from PyQt6 import QtCore, QtGui, QtWidgets

QT_BINDING = QtCore.__name__.split(".")[0]
QEventLoop, QObject, QTimer, pyqtSignal = QtCore.QEventLoop, QtCore.QObject, QtCore.QTimer, QtCore.pyqtSignal
QIcon = QtGui.QIcon
QDoubleSpinBox, QFormLayout, QHBoxLayout = QtWidgets.QDoubleSpinBox, QtWidgets.QFormLayout, QtWidgets.QHBoxLayout
QLabel, QLineEdit, QProgressBar = QtWidgets.QLabel, QtWidgets.QLineEdit, QtWidgets.QProgressBar
QPushButton, QSpinBox, QVBoxLayout, QWidget = (
    QtWidgets.QPushButton,
    QtWidgets.QSpinBox,
    QtWidgets.QVBoxLayout,
    QtWidgets.QWidget,
)


def exec_loop(loop) -> int:
    """Run a QEventLoop: ``exec`` in PyQt6, ``exec_`` in older PyQt5."""
    run = getattr(loop, "exec", None) or loop.exec_
    return run()
