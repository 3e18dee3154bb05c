"""The client library and the shared editor core, vendored inside this package by the installer
(the repository's copies in development and tests)."""

try:
    from . import textclean_client as tc
    from . import textclean_editor as editor
except ImportError:
    import textclean_client as tc  # noqa: F401
    import textclean_editor as editor  # noqa: F401

__all__ = ["tc", "editor"]
