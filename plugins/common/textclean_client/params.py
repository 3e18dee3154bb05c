"""The mask parameters, defined once: name, type, default, range and help.

The daemon's protocol validation, the CLI's flags and both editor plugins'
dialogs are derived from this table, so a range can only be written here.
Standard library only, Python 3.8 syntax: the editors' Python imports it too.
"""

from __future__ import annotations

import math
from typing import Any, Dict, NamedTuple, Tuple

__all__ = ["Param", "PARAMS", "BY_NAME", "validate", "ParamError"]


class Param(NamedTuple):
    name: str  # the protocol's key and the Python name
    kind: type  # float, int or bool
    default: Any  # None: chosen by the daemon (the threshold the shipped model was validated at)
    lo: float | None  # inclusive lower bound, or None
    hi: float | None  # inclusive upper bound, or None
    help: str
    flag: str  # the CLI flag; bool parameters that default on get a --no-… flag
    open_range: bool = False  # lo and hi themselves are not allowed (a threshold of exactly 0 or 1)

    def range_text(self) -> str:
        if self.kind is bool or self.lo is None or self.hi is None:
            return ""
        lo, hi = _fmt(self.lo), _fmt(self.hi)
        if self.open_range:
            return f"between {lo} and {hi}, exclusive"
        return f"{lo}..{hi}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


PARAMS: Tuple[Param, ...] = (
    Param(
        "threshold",
        float,
        None,
        0.0,
        1.0,
        "text probability above which a pixel is text; lower finds faint text but also takes more art",
        "--threshold",
        open_range=True,
    ),
    Param(
        "grow", int, 1, 0, 64, "grow the mask by this many pixels, to cover antialiased rims and JPEG halos", "--grow"
    ),
    Param("min_area", int, 12, 0, 1_000_000, "drop mask specks smaller than this many pixels", "--min-area"),
    Param(
        "fill_holes",
        bool,
        True,
        None,
        None,
        "fill the enclosed counters of glyphs (o, 口) into the mask",
        "--no-fill-holes",
    ),
    Param(
        "max_hole_area",
        int,
        2500,
        0,
        10_000_000,
        "largest enclosed glyph counter, in pixels, that is filled (bigger ones are art, such as a bubble)",
        "--max-hole-area",
    ),
    Param(
        "check_blobs",
        bool,
        True,
        None,
        None,
        "drop mask blobs that look like art, not lettering (eyes, hair, foliage): judged by their "
        "surroundings, stroke width and neighbours",
        "--no-check-blobs",
    ),
    Param(
        "flat_fill",
        bool,
        True,
        None,
        None,
        "fill holes whose surrounding ring is one flat colour with that colour, exactly",
        "--no-flat-fill",
    ),
)

BY_NAME: Dict[str, Param] = {p.name: p for p in PARAMS}


class ParamError(ValueError):
    """A parameter is unknown, of the wrong type or out of range; ``str()`` is a message for the user.

    ``param`` is the :class:`Param` at fault (None for an unknown name), so a caller can name the
    flag or field the user typed.
    """

    def __init__(self, message: str, param: Param | None = None) -> None:
        super().__init__(message)
        self.param = param


def check(p: Param, value: Any, label: str | None = None) -> Any:
    """``value`` converted to ``p.kind`` and range-checked; ``label`` names it in messages."""
    label = label or p.name
    if value is None and p.default is None:
        return None
    if p.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, p.kind) or (p.kind is int and isinstance(value, bool)):
        raise ParamError(f"{label} must be {_kind_text(p.kind)}, got {value!r}", p)
    if p.kind is float and not math.isfinite(value):
        raise ParamError(f"{label} must be a finite number, got {value}", p)
    if p.lo is not None and p.hi is not None:
        bad = (value <= p.lo or value >= p.hi) if p.open_range else (value < p.lo or value > p.hi)
        if bad:
            raise ParamError(f"{label} must be {p.range_text()}, got {value}", p)
    return value


def _kind_text(kind: type) -> str:
    return {float: "a number", int: "a whole number", bool: "true or false"}.get(kind, kind.__name__)


def validate(values: Any) -> Dict[str, Any]:
    """The given parameters checked against the table (absent ones stay absent).

    Raises :class:`ParamError` for anything not a map, an unknown name, a wrong type or a value out
    of range. A threshold of None means "the daemon's default" and is dropped.
    """
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParamError("params must be a map")
    out: Dict[str, Any] = {}
    for key, value in values.items():
        p = BY_NAME.get(key) if isinstance(key, str) else None
        if p is None:
            raise ParamError("unknown parameter {!r}; known: {}".format(key, ", ".join(BY_NAME)))
        value = check(p, value)
        if value is not None:
            out[key] = value
    return out


def defaults() -> Dict[str, Any]:
    """Every parameter's default, None where the daemon chooses."""
    return {p.name: p.default for p in PARAMS}
