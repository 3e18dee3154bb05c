"""Weight files, their errors, the ONNX Runtime backend against PyTorch, and its int8 copies."""

import shutil

import numpy as np
import pytest
import torch
from textclean import onnx_export, weights
from textclean.backend import DeviceError, ModelRunner, int8_path, resolve_device
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
    assert "(segmenter fp32) + torch" in auto.backend
    with pytest.raises(DeviceError, match="does not load"):
        runner(tmp_path, "onnx")


def test_inpainter_multiple_is_the_interfaces():
    """The ONNX inpainter pads to ``InpaintNetwork.multiple`` without importing the model: they must agree."""
    from textclean.networks import InpaintNetwork

    assert GatedUNet.multiple == InpaintNetwork.multiple


# ------------------------------------------------------------------ int8 copies (textclean_train.quantize)


def _feeds(kind: str) -> list[dict]:
    rng = np.random.default_rng(0)
    if kind == "segmenter":
        return [{"image": rng.random((1, 3, 64, 96), dtype=np.float32)} for _ in range(3)]
    hole = np.zeros((1, 1, 64, 64), np.float32)
    hole[:, :, 20:40, 10:50] = 1
    return [
        {"image": rng.random((1, 3, 64, 64), dtype=np.float32), "mask": hole, "guide": rng.random((1, 3, 64, 64))}
        for _ in range(3)
    ]


@pytest.fixture(scope="module")
def quantized_dir(weight_dir, tmp_path_factory):
    from textclean_train.quantize import RECIPES, quantize

    d = tmp_path_factory.mktemp("int8")
    for f in weight_dir.iterdir():
        shutil.copy(f, d / f.name)
    for kind in ("segmenter", "inpainter"):
        feeds = [{k: np.asarray(v, np.float32) for k, v in f.items()} for f in _feeds(kind)]
        quantize(d / f"{kind}.onnx", int8_path(d / f"{kind}.onnx"), feeds, RECIPES["qdq-u8s8-pc-narrow"])
    return d


def _runner(d, backend=None):
    return ModelRunner(
        "cpu", segmenter_path=str(d / "segmenter.pt"), inpainter_path=str(d / "inpainter.pt"), backend=backend
    )


def test_int8_copies_keep_version_and_metadata_and_say_how_they_were_made(quantized_dir):
    import onnx

    for kind in ("segmenter", "inpainter"):
        props = {e.key: e.value for e in onnx.load(str(int8_path(quantized_dir / f"{kind}.onnx"))).metadata_props}
        fp32 = {e.key: e.value for e in onnx.load(str(quantized_dir / f"{kind}.onnx")).metadata_props}
        version, meta = onnx_export.read_metadata(props)
        assert version == fp32[onnx_export.VERSION_KEY] and meta["threshold"] == 0.4
        assert meta["quantization"]["recipe"]["fmt"] == "qdq"
        assert props[onnx_export.KIND_KEY] == kind
        assert (
            int8_path(quantized_dir / f"{kind}.onnx").stat().st_size < (quantized_dir / f"{kind}.onnx").stat().st_size
        )


def test_runner_prefers_int8_and_fp32_is_a_choice(quantized_dir, monkeypatch):
    monkeypatch.delenv("TEXTCLEAN_BACKEND", raising=False)
    auto, fp32 = _runner(quantized_dir), _runner(quantized_dir, "onnx-fp32")
    assert all(s.path.name.endswith(".int8.onnx") for s in auto.onnx.values()) and auto.backend.endswith("-int8")
    assert not any(s.path.name.endswith(".int8.onnx") for s in fp32.onnx.values()) and fp32.backend.endswith("-fp32")
    assert auto.meta == fp32.meta and auto.default_threshold == 0.4 and auto.versions == fp32.versions
    tiles = np.random.default_rng(0).integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    a, b = auto.segment(tiles), fp32.segment(tiles)
    assert not np.array_equal(a, b) and np.abs(a - b).mean() < 0.05  # quantised, and close
    monkeypatch.setenv("TEXTCLEAN_BACKEND", "onnx-fp32")
    assert _runner(quantized_dir).backend.endswith("-fp32")
    monkeypatch.setenv("TEXTCLEAN_BACKEND", "fast")
    with pytest.raises(DeviceError, match="unknown backend 'fast'"):
        _runner(quantized_dir)


def test_bad_or_stale_int8_copy_falls_back_to_fp32_onnx(quantized_dir, tmp_path, caplog, monkeypatch):
    import logging

    monkeypatch.delenv("TEXTCLEAN_BACKEND", raising=False)
    for f in quantized_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    int8_path(tmp_path / "segmenter.onnx").write_bytes(b"garbage")
    # An int8 inpainter made from other weights: take the segmenter's int8 copy under the inpainter's name.
    shutil.copy(int8_path(quantized_dir / "segmenter.onnx"), int8_path(tmp_path / "inpainter.onnx"))
    with caplog.at_level(logging.INFO, logger="textclean.backend"):
        r = _runner(tmp_path, "onnx")
    assert set(r.onnx) == {"segmenter", "inpainter"} and r.segmenter is None and r.inpainter is None
    assert not any(s.path.name.endswith(".int8.onnx") for s in r.onnx.values())
    assert "not using the int8 segmenter" in caplog.text and "not using the int8 inpainter" in caplog.text
    assert "other weights" in caplog.text


def test_model_card_says_how_the_int8_copies_were_made_and_checked():
    from textclean_train.export import int8_section

    seg = {
        "recipe_name": "qdq-u8s8-pc-narrow",
        "recipe": {"fmt": "qdq", "activations": "u8", "weights": "s8", "per_channel": True, "exclude": ["narrow"]},
        "calibration": {"pages": 8, "seed": 5300000},
        "checks": {"val_f1_fp32": 0.79, "val_f1_int8": 0.7875, "cpu_ms_fp32": 396.0, "cpu_ms_int8": 355.0},
        "bytes": 944959,
    }
    text = "\n".join(int8_section(seg, None))
    assert "segmenter (`qdq-u8s8-pc-narrow`, 0.94 MB): QDQ" in text and "per channel" in text
    assert "val F1 0.7900 → 0.7875" in text and "396 → 355 ms CPU per 1024×1024 tile" in text
    assert "inpainter: fp32 only" in text and "TEXTCLEAN_BACKEND=onnx-fp32" in text
