"""What the two networks' configurations share: a plain-data round trip for weight files."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any


class ConfigDict:
    """``to_dict``/``from_dict`` for frozen dataclasses whose tuples travel as lists."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        tuples = {f.name for f in fields(cls) if isinstance(f.default, tuple)}
        return cls(**{k: tuple(v) if k in tuples else v for k, v in d.items()})
