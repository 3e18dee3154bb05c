"""The coarse pass for large lettering adds only blobs the full-resolution pass did not see."""

import numpy as np
from textclean.pipeline import Pipeline, PipelineConfig


class ByColour:
    """A stand-in segmenter: the full-resolution pass sees dark gray ink as text and misses dark red;
    the coarse pass sees every dark pixel and, as a network at 1/4 scale does, a rim around it."""

    default_threshold = 0.6

    def __init__(self) -> None:
        self.mode = "full"

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        dark = tiles.max(axis=3) < 128
        if self.mode == "full":
            gray = (tiles.max(axis=3).astype(int) - tiles.min(axis=3)) < 10
            return np.where(dark & gray, 0.9, 0.0).astype(np.float32)
        return np.where(tiles.min(axis=3) < 235, 0.95, 0.0).astype(np.float32)

    def info(self) -> dict:
        return {}


class Switching(Pipeline):
    def _add_large_lettering(self, *args, **kwargs) -> None:
        self.runner.mode = "coarse"
        super()._add_large_lettering(*args, **kwargs)
        self.runner.mode = "full"


def _page() -> np.ndarray:
    page = np.full((1200, 1200, 3), 250, np.uint8)
    page[100:400, 100:400] = (120, 0, 0)  # a large red title the full pass misses
    page[700:1000, 700:1000] = 20  # large gray lettering the full pass finds
    page[690:700, 690:1010] = 200  # a light border that only the coarse pass's rim would take
    return page


def _mask(max_found: float | None, coarse: int = 4) -> np.ndarray:
    extra = {} if max_found is None else {"coarse_max_found": max_found}
    config = PipelineConfig(coarse_factor=coarse, second_scale=0, fit_to_ink=False, **extra)
    return Switching(ByColour(), config, blob_model=None).segment(_page())


def test_coarse_blobs_are_added_only_where_the_full_pass_found_nothing():
    off, on = _mask(None, coarse=0), _mask(0.15)
    assert not off[150:350, 150:350].any() and on[150:350, 150:350].all()  # the missed title is found
    # Where the full pass saw the lettering, its own mask stands: the coarse rim is not added.
    assert (on[600:1100, 600:1100] == off[600:1100, 600:1100]).all()
    assert not on[692:698, 750:950].any()


def test_without_the_rule_the_coarse_rim_spreads_over_found_lettering():
    # What coarse_max_found prevents (so the test above can fail): every coarse blob added whole.
    assert _mask(1.0)[692:698, 750:950].any()
