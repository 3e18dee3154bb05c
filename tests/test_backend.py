"""Weight files, their errors, and the ONNX Runtime backend against PyTorch."""

import numpy as np
import pytest
import torch
from textclean import onnx_export, weights
from textclean.backend import DeviceError, ModelRunner, resolve_device
from textclean.models import GatedUNet, InpainterConfig, SegmenterConfig, TextSegmenter

SEG_CONFIG = SegmenterConfig(width_mult=0.5, aspp_channels=32, decoder_channels=16, refine_channels=8)
INP_CONFIG = InpainterConfig(base_channels=8)


@pytest.fixture(scope="module")
def weight_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    for kind, model, cfg in (
        ("segmenter", TextSegmenter(SEG_CONFIG), SEG_CONFIG),
        ("inpainter", GatedUNet(INP_CONFIG), INP_CONFIG),
    ):
        path = d / f"{kind}.pt"
        weights.save(path, kind, cfg.to_dict(), model.state_dict(), {"threshold": 0.4})
        loaded = TextSegmenter(cfg) if kind == "segmenter" else GatedUNet(cfg)
        loaded.load_state_dict({k: v.float() for k, v in weights.load(kind, path).state_dict.items()})
        onnx_export.export(
            loaded, kind, path.with_suffix(".onnx"), weights.file_version(path), weights.load(kind, path).meta
        )
    return d


def runner(d, backend):
    return ModelRunner(
        "cpu", segmenter_path=str(d / "segmenter.pt"), inpainter_path=str(d / "inpainter.pt"), backend=backend
    )


def test_onnx_backend_matches_torch(weight_dir):
    onnx_runner, torch_runner = runner(weight_dir, "onnx"), runner(weight_dir, "torch")
    assert onnx_runner.backend.startswith("onnxruntime") and torch_runner.backend.startswith("torch")
    assert onnx_runner.default_threshold == 0.4 and onnx_runner.meta == torch_runner.meta
    assert onnx_runner.versions == torch_runner.versions
    # ONNX Runtime serves both: no PyTorch module was loaded for them.
    assert onnx_runner.segmenter is None and onnx_runner.inpainter is None
    tiles = np.random.default_rng(0).integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    assert np.abs(onnx_runner.segment(tiles) - torch_runner.segment(tiles)).max() < 1e-4
    img = np.random.default_rng(1).random((37, 53, 3), dtype=np.float32)
    hole = np.zeros((37, 53), bool)
    hole[10:20, 10:30] = True
    assert np.abs(onnx_runner.inpaint(img, hole) - torch_runner.inpaint(img, hole)).max() < 1e-4


def test_onnx_from_other_weights_is_not_used(weight_dir, tmp_path):
    import shutil

    for f in weight_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    torch.manual_seed(1)
    weights.save(
        tmp_path / "segmenter.pt", "segmenter", SEG_CONFIG.to_dict(), TextSegmenter(SEG_CONFIG).state_dict(), {}
    )
    auto = runner(tmp_path, "auto")
    assert "segmenter" not in auto.onnx and "inpainter" in auto.onnx
    with pytest.raises(DeviceError, match="other weights"):
        runner(tmp_path, "onnx")


def test_missing_and_corrupt_weights_name_the_file(tmp_path):
    with pytest.raises(weights.WeightsError, match=str(tmp_path / "nope.pt")):
        weights.load("segmenter", tmp_path / "nope.pt")
    bad = tmp_path / "segmenter.pt"
    bad.write_bytes(b"not a torch file at all")
    with pytest.raises(weights.WeightsError, match="corrupt") as err:
        weights.load("segmenter", bad)
    assert str(bad) in str(err.value) and "training/README.md" in str(err.value)
    torch.save({"format": weights.FORMAT, "kind": "inpainter", "config": {}, "state_dict": {}}, bad)
    with pytest.raises(weights.WeightsError, match="not a textclean segmenter"):
        weights.load("segmenter", bad)


def test_weights_refuse_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "segmenter.pt"
    torch.save({"format": weights.FORMAT, "kind": "segmenter", "config": Evil(), "state_dict": {}}, path)
    with pytest.raises(weights.WeightsError, match="corrupt or unreadable"):
        weights.load("segmenter", path)


def test_cuda_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_onnx_without_stored_metadata_takes_it_from_the_weights(weight_dir, tmp_path):
    """A copy exported before the metadata was stored in it still runs; threshold and summary come from the .pt."""
    import shutil

    import onnx

    for f in weight_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    proto = onnx.load(str(tmp_path / "segmenter.onnx"))
    kept = [(e.key, e.value) for e in proto.metadata_props if e.key == onnx_export.VERSION_KEY]
    del proto.metadata_props[:]
    for key, value in kept:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(tmp_path / "segmenter.onnx"))
    r = runner(tmp_path, "onnx")
    assert "segmenter" in r.onnx and r.default_threshold == 0.4


def test_damaged_onnx_falls_back_to_torch_with_a_log_line(weight_dir, tmp_path, caplog):
    import logging
    import shutil

    for f in weight_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "inpainter.onnx").write_bytes(b"not an onnx file")
    with caplog.at_level(logging.INFO, logger="textclean.backend"):
        auto = runner(tmp_path, "auto")
    assert "inpainter" not in auto.onnx and auto.inpainter is not None and "segmenter" in auto.onnx
    assert "using PyTorch for the inpainter" in caplog.text and "does not load" in caplog.text
    assert "(segmenter) + torch" in auto.backend
    with pytest.raises(DeviceError, match="does not load"):
        runner(tmp_path, "onnx")


def test_inpainter_multiple_is_the_interfaces():
    """The ONNX inpainter pads to ``InpaintNetwork.multiple`` without importing the model: they must agree."""
    from textclean.networks import InpaintNetwork

    assert GatedUNet.multiple == InpaintNetwork.multiple
