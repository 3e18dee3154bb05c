"""textclean for Krita: a docker and three actions that talk to the local textclean daemon.

Inside Krita this registers the docker and the actions; outside it (tests,
scripts) importing the package does nothing, and ``core`` works alone.
"""

try:
    from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita
except ImportError:  # not inside Krita
    Krita = None

if Krita is not None and Krita.instance() is not None:
    from .docker import DOCKER_ID, TextcleanDocker
    from .extension import TextcleanExtension

    _app = Krita.instance()
    _app.addExtension(TextcleanExtension(_app))
    _app.addDockWidgetFactory(DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight, TextcleanDocker))
