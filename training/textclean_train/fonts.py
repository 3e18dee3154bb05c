"""Fonts from Debian packages, grouped by script, with some held out of training.

Users' pages use fonts we never saw, so validation renders part of its text
with fonts that training never uses (``split="heldout"``). Install them with:

    apt-get install fonts-ipaexfont-gothic fonts-ipaexfont-mincho fonts-vlgothic \
        fonts-wqy-zenhei fonts-nanum fonts-dejavu fonts-liberation2 \
        fonts-takao-gothic fonts-noto-cjk
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from PIL import ImageFont

FONT_DIRS = ("/usr/share/fonts", os.path.expanduser("~/.local/share/fonts"))


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int = 0  # face index inside a .ttc collection
    bold: bool = False


# (file name, face index, bold) for each script. Noto CJK collections order
# their faces JP, KR, SC, TC, HK.
_TRAIN = {
    "ja": [("ipaexg.ttf", 0, False), ("VL-Gothic-Regular.ttf", 0, False), ("VL-PGothic-Regular.ttf", 0, False),
           ("NotoSansCJK-Regular.ttc", 0, False), ("NotoSansCJK-Bold.ttc", 0, True),
           ("NotoSerifCJK-Regular.ttc", 0, False), ("NotoSerifCJK-Bold.ttc", 0, True)],
    "zh": [("NotoSansCJK-Regular.ttc", 2, False), ("NotoSansCJK-Bold.ttc", 2, True),
           ("NotoSerifCJK-Regular.ttc", 2, False)],
    "ko": [("NanumGothic.ttf", 0, False), ("NanumGothicBold.ttf", 0, True), ("NanumMyeongjo.ttf", 0, False),
           ("NanumMyeongjoBold.ttf", 0, True), ("NanumSquareB.ttf", 0, True)],
    "en": [("DejaVuSans.ttf", 0, False), ("DejaVuSans-Bold.ttf", 0, True), ("DejaVuSerif.ttf", 0, False),
           ("DejaVuSerif-Bold.ttf", 0, True), ("DejaVuSansCondensed-Bold.ttf", 0, True),
           ("LiberationSans-Regular.ttf", 0, False), ("LiberationSans-Bold.ttf", 0, True),
           ("LiberationSans-BoldItalic.ttf", 0, True), ("ipaexg.ttf", 0, False)],
}
_HELDOUT = {
    "ja": [("ipaexm.ttf", 0, False), ("TakaoPGothic.ttf", 0, False)],
    "zh": [("wqy-zenhei.ttc", 0, False)],
    "ko": [("NanumBarunGothic.ttf", 0, False), ("NanumBarunGothicBold.ttf", 0, True),
           ("NanumSquareRoundB.ttf", 0, True)],
    "en": [("LiberationSerif-Regular.ttf", 0, False), ("LiberationSerif-Bold.ttf", 0, True),
           ("LiberationMono-Bold.ttf", 0, True), ("LiberationSans-Italic.ttf", 0, False)],
}


@functools.lru_cache(maxsize=1)
def _index_font_files() -> dict[str, str]:
    found: dict[str, str] = {}
    for root_dir in FONT_DIRS:
        for root, _dirs, files in os.walk(root_dir):
            for name in files:
                found.setdefault(name, os.path.join(root, name))
    return found


@functools.cache
def fonts_for(script: str, split: str = "train") -> tuple[FontSpec, ...]:
    """Installed fonts for ``script`` ("ja", "zh", "ko", "en") in ``split`` ("train"/"heldout")."""
    table = _TRAIN if split == "train" else _HELDOUT
    files = _index_font_files()
    specs = tuple(FontSpec(files[n], i, b) for n, i, b in table[script] if n in files)
    if not specs:
        raise RuntimeError(
            f"no {split} fonts found for script {script!r}; install the Debian font packages "
            "listed in training/README.md")
    return specs


@functools.lru_cache(maxsize=4096)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec.path, size=size, index=spec.index)


def font_files(split: str) -> list[str]:
    """Every font file a split uses, to carry them to another machine."""
    return sorted({f.path for s in _TRAIN for f in fonts_for(s, split)})
