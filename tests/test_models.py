import numpy as np
import pytest
import torch
from textclean.models import GatedUNet, InpainterConfig, SegmenterConfig, TextSegmenter


@pytest.mark.parametrize("h,w", [(64, 64), (65, 97), (123, 77), (33, 200)])
def test_segmenter_gives_one_logit_per_pixel_at_odd_sizes(h, w):
    model = TextSegmenter(SegmenterConfig(width_mult=0.5, aspp_channels=32, decoder_channels=16)).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, h, w))
    assert out.shape == (2, 1, h, w)
    assert torch.isfinite(out).all()


def test_segmenter_reaches_output_stride_16():
    model = TextSegmenter(SegmenterConfig(width_mult=0.5, aspp_channels=32, decoder_channels=16)).eval()
    low, deep = model.backbone(torch.rand(1, 3, 128, 128))
    assert low.shape[-1] == 32  # 1/4 scale for the decoder
    assert deep.shape[-1] == 8  # 1/16, not 1/32: the last stride became dilation
    dilations = {m.dilation[0] for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d)}
    assert 2 in dilations


def test_segmenter_uses_selu_in_head():
    model = TextSegmenter()
    assert any(isinstance(m, torch.nn.SELU) for m in model.decoder.modules())


@pytest.mark.parametrize("h,w", [(64, 64), (72, 136), (8, 8)])
def test_inpainter_returns_rgb_in_unit_range(h, w):
    model = GatedUNet(InpainterConfig(base_channels=8)).eval()
    img, mask = torch.rand(1, 3, h, w), (torch.rand(1, 1, h, w) > 0.7).float()
    with torch.no_grad():
        out = model(img, mask)
    assert out.shape == (1, 3, h, w)
    assert out.min() >= 0 and out.max() <= 1


def test_inpainter_cannot_see_hole_pixels():
    """Whatever is under the hole must not change the prediction: the hole is zeroed."""
    model = GatedUNet(InpainterConfig(base_channels=8)).eval()
    img = torch.rand(1, 3, 32, 32)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:20] = 1
    other = img.clone()
    other[..., 8:20, 8:20] = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(model(img, mask), model(other, mask))


@pytest.mark.parametrize("h,w", [(37, 53), (100, 9)])
def test_runner_inpaint_pads_odd_sizes(runner, h, w):
    img = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    hole = np.zeros((h, w), bool)
    hole[h // 3 : h // 2, w // 3 : w // 2 + 1] = True
    out = runner.inpaint(img, hole)
    assert out.shape == (h, w, 3) and out.dtype == np.float32


def test_guided_inpainter_starts_as_its_coarse_fill_and_ignores_the_hole():
    model = GatedUNet(InpainterConfig(base_channels=8, guided=True)).eval()
    img = torch.rand(1, 3, 32, 40)
    mask = torch.zeros(1, 1, 32, 40)
    mask[..., 8:20, 8:30] = 1
    guide = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        out = model(img, mask, guide)
        assert torch.allclose(out * mask, guide * mask)  # zero-initialised correction
        other = img.clone()
        other[..., 8:20, 8:30] = 0.5
        assert torch.allclose(model(other, mask, guide), out)
    with pytest.raises(ValueError, match="guide"):
        model(img, mask)


def test_coarse_fill_only_changes_the_hole():
    from textclean.structure import coarse_fill

    img = np.random.default_rng(0).random((30, 40, 3), dtype=np.float32)
    hole = np.zeros((30, 40), bool)
    hole[10:20, 10:20] = True
    out = coarse_fill(img, hole)
    assert np.abs(out[~hole] - img[~hole]).max() <= 1 / 255 + 1e-6


def test_presets_define_the_shipped_networks_once():
    from textclean import weights
    from textclean.models import PRESETS, build, config_of

    shipped = weights.load("inpainter")
    assert config_of("inpainter", shipped.config) == PRESETS["inpainter"]["shipped"]
    assert config_of("segmenter", weights.load("segmenter").config) == PRESETS["segmenter"]["shipped"]
    net = build("inpainter", "shipped", base_channels=8)
    assert net.config.guided and net.config.base_channels == 8
    with pytest.raises(ValueError, match="preset"):
        build("inpainter", "nope")
    with pytest.raises(ValueError, match="kind"):
        build("detector")
