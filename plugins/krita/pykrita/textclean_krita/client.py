"""The client library, vendored inside this package by the installer (repository copy in development)."""

try:
    from . import textclean_client as tc
except ImportError:
    import textclean_client as tc  # noqa: F401

__all__ = ["tc"]
