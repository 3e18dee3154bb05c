"""The textclean CLI, run in-process with random networks (``--allow-untrained``)."""

import numpy as np
import pytest
from PIL import Image
from textclean.cli import main
from textclean.imagefiles import read_image, write_image

from .helpers import page

UNTRAINED = ["--allow-untrained", "--device", "cpu"]


@pytest.fixture
def page_png(tmp_path):
    p = tmp_path / "page.png"
    Image.fromarray(page()).save(p)
    return p


def test_clean_writes_image_and_mask(tmp_path, page_png):
    out, mask = tmp_path / "out.png", tmp_path / "mask.png"
    assert (
        main(["clean", str(page_png), "-o", str(out), "--mask-out", str(mask), "--threshold", "0.5", *UNTRAINED]) == 0
    )
    cleaned, m = read_image(out), read_image(mask)
    assert cleaned.shape == (200, 240, 3) and m.shape == (200, 240)
    original = read_image(page_png)
    assert np.array_equal(cleaned[m == 0], original[m == 0])


def test_untrained_models_are_announced_loudly(tmp_path, page_png, capsys, monkeypatch):
    monkeypatch.setenv("TEXTCLEAN_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    main(["mask", str(page_png), "-o", str(tmp_path / "m.png"), *UNTRAINED])
    assert "no trained weights" in capsys.readouterr().err


def test_missing_weights_without_the_dev_flag_is_an_error_naming_the_file(tmp_path, page_png, capsys, monkeypatch):
    monkeypatch.setenv("TEXTCLEAN_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    assert main(["clean", str(page_png), "-o", str(tmp_path / "o.png"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "no-weights" / "segmenter.pt") in err and "training/README.md" in err


def test_folder_input_writes_a_folder_and_skips_bad_files(tmp_path, page_png, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(page()).save(src / "a.png")
    Image.fromarray(page(seed=1)).convert("L").save(src / "b.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code = main(["clean", str(src), "-o", str(tmp_path / "out"), *UNTRAINED])
    err = capsys.readouterr().err
    assert code == 1
    assert "skipped" in err and "broken.png" in err
    assert (tmp_path / "out" / "a.png").exists() and (tmp_path / "out" / "b.jpg").exists()
    assert read_image(tmp_path / "out" / "b.jpg").ndim == 2  # gray stays gray


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["clean", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o.png"), *UNTRAINED]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err


def test_zero_size_and_unsupported_mode_are_refused(tmp_path, capsys):
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 20)).save(cmyk)
    assert main(["mask", str(cmyk), "-o", str(tmp_path / "m.png"), *UNTRAINED]) == 1
    assert "unsupported colour mode CMYK" in capsys.readouterr().err
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert main(["mask", str(empty), "-o", str(tmp_path / "m.png"), *UNTRAINED]) == 1
    assert "not a readable image" in capsys.readouterr().err


def test_huge_header_is_refused_before_decoding(tmp_path, capsys):
    big = tmp_path / "big.png"
    Image.new("L", (4000, 3000)).save(big)
    assert main(["mask", str(big), "-o", str(tmp_path / "m.png"), "--max-pixels", "1000000", *UNTRAINED]) == 1
    assert "over the limit" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag,value,expected",
    [
        ("--threshold", "3", "argument --threshold: must be between 0 and 1, exclusive, got 3"),
        ("--threshold", "0", "argument --threshold: must be between 0 and 1, exclusive, got 0"),
        ("--dilate", "-1", "argument --dilate: must be 0..64, got -1"),
        ("--grow", "65", "argument --grow: must be 0..64, got 65"),
        ("--min-area", "-5", "argument --min-area: must be 0..1000000, got -5"),
        ("--max-pixels", "0", "argument --max-pixels: must be a whole number of pixels, 1 or more"),
        ("--grow", "two", "argument --grow: must be a whole number (0..64), got 'two'"),
    ],
)
def test_bad_values_name_the_flag_typed_and_the_range(tmp_path, page_png, capsys, flag, value, expected):
    with pytest.raises(SystemExit) as exit_:
        main(["clean", str(page_png), "-o", str(tmp_path / "o.png"), flag, value, *UNTRAINED])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "max_hole_area" not in err and "grow must" not in err


def test_small_pixel_limits_are_said_in_pixels(tmp_path, capsys):
    big = tmp_path / "big.png"
    Image.new("L", (40, 30)).save(big)
    assert main(["mask", str(big), "-o", str(tmp_path / "m.png"), "--max-pixels", "1000", *UNTRAINED]) == 1
    err = capsys.readouterr().err
    assert "over the limit of 1,000 pixels" in err
    assert err.count(str(big)) == 1, "the file name is said once"


@pytest.mark.parametrize(
    "dtype,ext",
    [
        (np.uint8, ".png"),
        (np.uint16, ".png"),
        (np.uint16, ".tif"),
        (np.float32, ".tif"),
        (np.uint8, ".webp"),
        (np.uint8, ".jpg"),
    ],
)
def test_file_round_trip_keeps_depth_where_the_format_can(tmp_path, dtype, ext):
    rgb = page()
    a = (
        rgb.astype(np.uint16) * 257
        if dtype == np.uint16
        else (rgb / 255).astype(np.float32)
        if dtype == np.float32
        else rgb
    )
    p = tmp_path / f"x{ext}"
    write_image(p, a)
    b = read_image(p)
    assert b.shape == a.shape and b.dtype == a.dtype
    if ext in (".png", ".tif"):
        assert np.array_equal(a, b)


def test_rgba_and_gray_alpha_files_keep_alpha(tmp_path):
    rgba = np.dstack([page(), np.full((200, 240), 77, np.uint8)])
    write_image(tmp_path / "a.png", rgba)
    assert np.array_equal(read_image(tmp_path / "a.png"), rgba)
    Image.fromarray(rgba[..., [0, 3]], "LA").save(tmp_path / "la.png")
    la = read_image(tmp_path / "la.png")
    assert la.shape == (200, 240, 2) and (la[..., 1] == 77).all()
