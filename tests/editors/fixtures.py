"""Fixtures the GIMP and Krita tests share: the root, the real daemon and the example page's truth."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from . import harness

# examples/manga_small.png with its clean page and label, as the 0.1 generator drew them from seed
# 9,000,007 in held-out fonts. Stored, not regenerated: the editor tests check the plugins' plumbing
# on one fixed page, and must not change whenever the generator learns to draw harder pages.
PAGE = harness.REPO / "examples" / "manga_small"


@dataclass
class Truth:
    raw: np.ndarray  # H×W×3 uint8
    clean: np.ndarray
    label: np.ndarray  # H×W: 0 background, 1 text, 255 the text's faint rim


@pytest.fixture(scope="module")
def truth() -> Truth:
    def rgb(path: str) -> np.ndarray:
        return np.ascontiguousarray(cv2.imread(path)[..., ::-1])

    t = Truth(rgb(f"{PAGE}.png"), rgb(f"{PAGE}.clean.png"), cv2.imread(f"{PAGE}.label.png", cv2.IMREAD_GRAYSCALE))
    assert t.raw.shape == t.clean.shape and t.label.shape == t.raw.shape[:2] and (t.label == 1).any()
    return t


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
