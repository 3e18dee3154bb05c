"""The segmenter's second pass at 1.25× the working scale: averaged in, and run only where it can count."""

import numpy as np
from textclean.pipeline import Pipeline, PipelineConfig


class DarkIsText:
    """A stand-in segmenter: dark pixels get ``first`` (first pass) or ``second`` (second pass) as probability."""

    default_threshold = 0.6

    def __init__(self, first: float = 0.8, second: float = 0.8) -> None:
        self.value = {"first": first, "second": second}
        self.mode = "first"
        self.seen = {"first": 0, "second": 0}

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        self.seen[self.mode] += tiles.shape[0] * tiles.shape[1] * tiles.shape[2]
        return np.where(tiles.max(axis=3) < 128, self.value[self.mode], 0.0).astype(np.float32)

    def info(self) -> dict:
        return {}


class Switching(Pipeline):
    """Tells the stand-in which pass it is in."""

    def _add_second_scale(self, *args, **kwargs) -> None:
        self.runner.mode = "second"
        super()._add_second_scale(*args, **kwargs)


def _page() -> np.ndarray:
    page = np.full((800, 800, 3), 250, np.uint8)
    page[100:130, 100:124] = 20
    return page


def test_the_second_pass_is_averaged_in():
    agree, disagree = DarkIsText(0.8, 0.8), DarkIsText(0.8, 0.0)
    assert Switching(agree, blob_model=None).segment(_page())[105:125, 105:120].all()
    # 0.8 and 0.0 average to 0.4, under the threshold: the second look overrules the first.
    assert not Switching(disagree, blob_model=None).segment(_page()).any()
    off = DarkIsText(0.8, 0.0)
    assert Switching(off, PipelineConfig(second_scale=0), blob_model=None).segment(_page())[105:125, 105:120].all()
    assert off.seen["second"] == 0


def test_the_second_pass_looks_only_around_candidates():
    runner = DarkIsText()
    Switching(runner, blob_model=None).segment(_page())
    whole_page_again = 800 * 800 * 1.25**2
    # The patch and a tile margin around it, scaled by 1.25 (and padded to the network's multiple).
    assert 0 < runner.seen["second"] < 0.15 * whole_page_again


def test_a_page_with_nothing_found_gets_no_second_pass():
    runner = DarkIsText()
    Switching(runner, blob_model=None).segment(np.full((400, 500, 3), 250, np.uint8))
    assert runner.seen["second"] == 0
