"""Fixtures the GIMP and Krita tests share: the root, the real daemon and the example page's truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from . import harness

PAGE_SEED = 9_000_007  # examples/manga_small.png: a held-out-font page never trained on


@pytest.fixture(scope="module")
def truth():
    from textclean_train.synth import make_sample

    s = make_sample(PAGE_SEED, "manga", "heldout")
    page = cv2.imread(str(harness.REPO / "examples" / "manga_small.png"))[..., ::-1]
    assert np.array_equal(page, s.raw), "examples/manga_small.png no longer matches its generator seed"
    return s


@pytest.fixture(scope="module", params=harness.dists())
def root(request):
    """Each real-editor test runs once per Debian root: today's editors (trixie) and the next (forky)."""
    editor_root = harness.ensure_root(harness.ROOTS[request.param])
    with harness.in_use(editor_root), harness.mounted(editor_root):
        yield editor_root


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = harness.Daemon(tmp_path_factory.mktemp("state"))
    d.start()
    yield d
    d.stop()
