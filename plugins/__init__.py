"""Editor plugin sources, installed by ``textclean install-plugin`` (see daemon/textclean/plugin_install.py)."""
