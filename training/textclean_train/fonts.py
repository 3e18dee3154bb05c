"""Every installed font that can set a script, by family, with a fifth of the families held out.

Users' pages are lettered in fonts we never saw: brush and handwritten faces
for SFX, display faces for titles, dozens of book faces for dialogue. So the
generator does not keep a short list: it indexes every face under
``FONT_DIRS`` (``scripts/install-fonts`` installs the Debian packages),
finds which scripts it covers from its character map, and groups faces by
family. One family in five, chosen by a hash of its name so the split does
not move when packages are added, is held out: validation renders with those
only, to measure text in faces the model never saw.

Reserved for an independent evaluation and never used: the packages
``fonts-comic-neue`` and ``fonts-ipafont-mincho`` (``RESERVED_FILES``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass

from PIL import ImageFont

FONT_DIRS = ("/usr/share/fonts", os.path.expanduser("~/.local/share/fonts"))
# File-name prefixes of the reserved packages' fonts (ComicNeue*.ttf/otf; ipam.ttf, ipamp.ttf).
RESERVED_FILES = ("comicneue", "comic_neue", "ipam.ttf", "ipamp.ttf")
HELDOUT_SHARE = 5  # one family in this many

# A face sets a script if it maps every one of these characters.
PROBES = {
    "ja": "あいうえおかきくけこアイウエオ日本語私今何",
    "zh": "的是不了人我在有他这们说来时国",
    "ko": "한국어가나다라마바사아자",
    "en": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!?",
}
# Icon, symbol and barcode families map Latin letters to pictures: they are not text.
NOT_TEXT = (
    "awesome",
    "symbol",
    "dingbat",
    "icon",
    "emoji",
    "math",
    "barcode",
    "ocr-",
    "wingding",
    "webdings",
    "cursor",
    "musical",
    "braille",
    "glyphicons",
    "entypo",
    "fontawesome",
    "material design",
    "opensymbol",
    "d050000l",
    "standard symbols",
    "kanjistrokeorders",
)


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int = 0  # face index inside a .ttc collection
    bold: bool = False
    family: str = ""


def _heldout(family: str) -> bool:
    return int(hashlib.sha1(family.lower().encode()).hexdigest(), 16) % HELDOUT_SHARE == 0


def _faces(path: str):
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith(".ttc"):
        with TTCollection(path, lazy=True) as coll:
            yield from enumerate(coll.fonts)
    else:
        with TTFont(path, lazy=True) as font:
            yield 0, font


def _renders(path: str, index: int, probe: str) -> bool:
    """FreeType draws the probe with ink at a small and a large size (some fonts' hinting fails)."""
    try:
        for size in (13, 47):
            box = ImageFont.truetype(path, size=size, index=index).getmask(probe).getbbox()
            if not box:
                return False
    except Exception:  # noqa: BLE001 - "invalid opcode" and friends: the font is unusable
        return False
    return True


def _cache_path(files: list[str]) -> str:
    key = hashlib.sha1("\n".join(f"{f}:{os.path.getsize(f)}" for f in files).encode()).hexdigest()[:16]
    return os.path.join(os.path.expanduser("~/.cache/textclean"), f"fonts-{key}.json")


@functools.lru_cache(maxsize=1)
def index_fonts() -> dict[str, list[FontSpec]]:
    """``{script: [FontSpec, ...]}`` for every installed face that sets that script (cached on disk)."""
    files = sorted(
        os.path.realpath(os.path.join(r, n))
        for d in FONT_DIRS
        for r, _d, fs in os.walk(d)
        for n in fs
        if n.lower().endswith((".ttf", ".otf", ".ttc"))
    )
    cache = _cache_path(files)
    try:
        with open(cache) as f:
            loaded = {s: [FontSpec(*spec) for spec in specs] for s, specs in json.load(f).items()}
        return {s: sorted(specs, key=lambda f: (f.family, f.path, f.index)) for s, specs in loaded.items()}
    except (OSError, ValueError, TypeError):
        pass
    found = _index_fonts()
    for specs in found.values():  # os.walk's order differs between file systems: one seed, one page, anywhere
        specs.sort(key=lambda f: (f.family, f.path, f.index))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    tmp = cache + f".{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({s: [[x.path, x.index, x.bold, x.family] for x in specs] for s, specs in found.items()}, f)
    os.replace(tmp, cache)
    return found


def _index_fonts() -> dict[str, list[FontSpec]]:
    """``{script: [FontSpec, ...]}`` for every installed face that sets that script."""
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # it warns about harmless table padding
    found: dict[str, list[FontSpec]] = {s: [] for s in PROBES}
    seen: set[str] = set()
    for root_dir in FONT_DIRS:
        for root, _dirs, files in os.walk(root_dir):
            for name in sorted(files):
                if not name.lower().endswith((".ttf", ".otf", ".ttc")) or name.lower().startswith(RESERVED_FILES):
                    continue
                path = os.path.realpath(os.path.join(root, name))
                if path in seen:
                    continue
                seen.add(path)
                try:
                    for index, face in _faces(path):
                        names = face["name"]
                        family = str(names.getDebugName(16) or names.getDebugName(1) or name)
                        style = str(names.getDebugName(17) or names.getDebugName(2) or "")
                        if any(n in family.lower() for n in NOT_TEXT):
                            continue
                        cmap = face.getBestCmap() or {}
                        bold = any(w in style.lower() for w in ("bold", "black", "heavy", "extrab"))
                        for script, probe in PROBES.items():
                            if all(ord(c) in cmap for c in probe) and _renders(path, index, probe):
                                found[script].append(FontSpec(path, index, bold, family))
                except Exception:  # noqa: BLE001 - a damaged or exotic font file is skipped, not fatal
                    continue
    return found


@functools.cache
def fonts_for(script: str, split: str = "train") -> tuple[FontSpec, ...]:
    """Installed fonts for ``script`` ("ja", "zh", "ko", "en") in ``split`` ("train"/"heldout")."""
    want_heldout = split == "heldout"
    specs = tuple(f for f in index_fonts()[script] if _heldout(f.family) == want_heldout)
    if not specs:
        raise RuntimeError(
            f"no {split} fonts found for script {script!r}; install the Debian font packages with scripts/install-fonts"
        )
    return specs


def families(split: str) -> dict[str, set[str]]:
    """The font families each script draws from in ``split``."""
    return {s: {f.family for f in fonts_for(s, split)} for s in PROBES}


@functools.lru_cache(maxsize=4096)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec.path, size=size, index=spec.index)


def font_files(split: str) -> list[str]:
    """Every font file a split uses, to carry them to another machine."""
    return sorted({f.path for s in PROBES for f in fonts_for(s, split)})


if __name__ == "__main__":
    for split in ("train", "heldout"):
        fam = families(split)
        total = set().union(*fam.values())
        print(f"{split}: {len(total)} families; " + ", ".join(f"{s} {len(v)}" for s, v in fam.items()))
