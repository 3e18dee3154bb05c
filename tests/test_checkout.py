"""The tests test the checkout they are in, not the copy of the package `scripts/setup` installed."""

import os
import subprocess
import sys
from pathlib import Path

import textclean
import textclean_client
import textclean_editor
import textclean_train
from textclean import plugin_install

REPO = Path(__file__).resolve().parent.parent


def test_this_process_imports_the_checkout():
    for module in (textclean, textclean_client, textclean_editor, textclean_train):
        assert Path(module.__file__).resolve().is_relative_to(REPO), module.__file__
    assert plugin_install.plugins_root() == REPO / "plugins"


def test_processes_the_tests_start_import_the_checkout_too(tmp_path):
    probe = "import textclean, textclean_client; print(textclean.__file__); print(textclean_client.__file__)"
    r = subprocess.run(
        [sys.executable, "-c", probe], env=dict(os.environ), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    for line in r.stdout.split():
        assert Path(line).resolve().is_relative_to(REPO), line
