"""The CLI and the user's files: overwrite rules, folder trees, archives, metadata, own masks, Ctrl-C.

Runs in-process with ``--allow-untrained`` (random networks when no weights
are installed): none of these properties depends on the model being good.
"""

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from textclean.cli import main
from textclean.imagefiles import read_image, read_image_meta

from .helpers import page

RUN = ["--allow-untrained", "--device", "cpu"]
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _png(path: Path, seed: int = 0, size=(200, 240)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(page(*size, seed=seed)).save(path)
    return path


def _refused(capsys, argv: list[str], *words: str) -> str:
    assert main(argv + RUN) == 2
    err = capsys.readouterr().err
    assert err.startswith("textclean: error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err
    return err


# ------------------------------------------------------------- overwriting


def test_output_equal_to_the_input_is_refused_and_the_input_kept(tmp_path, capsys):
    src = _png(tmp_path / "page.png")
    before = src.read_bytes()
    _refused(capsys, ["clean", str(src), "-o", str(src)], "is an input", "never writes over")
    _refused(capsys, ["clean", str(src), "-o", str(src), "--overwrite"], "is an input")
    _refused(capsys, ["clean", str(src), "-o", str(tmp_path)], "is an input")  # folder -o: same name, same place
    assert src.read_bytes() == before


def test_two_inputs_with_the_same_name_are_refused(tmp_path, capsys):
    a, b = _png(tmp_path / "ch1" / "001.png"), _png(tmp_path / "ch2" / "001.png", seed=1)
    _refused(capsys, ["clean", str(a), str(b), "-o", str(tmp_path / "out")], "would both be written", "001.png")
    assert not (tmp_path / "out").exists()


def test_a_file_like_output_for_several_inputs_is_refused(tmp_path, capsys):
    a, b = _png(tmp_path / "a.png"), _png(tmp_path / "b.png", seed=1)
    _refused(
        capsys, ["clean", str(a), str(b), "-o", str(tmp_path / "single.png")], "-o", "names a file", "give a folder"
    )
    assert not (tmp_path / "single.png").exists()
    _refused(
        capsys,
        ["clean", str(a), str(b), "-o", str(tmp_path / "o"), "--mask-out", str(tmp_path / "m.png")],
        "--mask-out",
    )


def test_mask_and_image_output_may_not_collide(tmp_path, capsys):
    src = _png(tmp_path / "a.png")
    _refused(
        capsys,
        ["clean", str(src), "-o", str(tmp_path / "x.png"), "--mask-out", str(tmp_path / "x.png")],
        "would both be written",
    )


def test_existing_outputs_need_overwrite_or_skip_existing(tmp_path, capsys):
    src = tmp_path / "in"
    a, b = _png(src / "a.png"), _png(src / "b.png", seed=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    _refused(capsys, ["clean", str(src), "-o", str(out)], "exist", "--overwrite", "--skip-existing")
    assert (out / "a.png").read_bytes() == b"keep me" and not (out / "b.png").exists()

    assert main(["clean", str(src), "-o", str(out), "--skip-existing"] + RUN) == 0
    assert (out / "a.png").read_bytes() == b"keep me", "--skip-existing replaced a file"
    assert read_image(out / "b.png").shape == read_image(b).shape
    assert "1 input(s) skipped" in capsys.readouterr().err

    assert main(["clean", str(src), "-o", str(out), "--overwrite"] + RUN) == 0
    assert read_image(out / "a.png").shape == read_image(a).shape

    with pytest.raises(SystemExit) as e:  # both at once make no sense
        main(["clean", str(src), "-o", str(out), "--overwrite", "--skip-existing"] + RUN)
    assert e.value.code == 2


def test_writes_leave_no_temporary_files(tmp_path):
    src = _png(tmp_path / "in" / "a.png")
    assert main(["clean", str(src), "-o", str(tmp_path / "out"), "--mask-out", str(tmp_path / "out" / "m")] + RUN) == 0
    names = sorted(p.name for p in (tmp_path / "out").rglob("*"))
    assert names == ["a.png", "a.png", "m"]


# ----------------------------------------------------------------- folders


def _tree(root: Path) -> None:
    _png(root / "001.png")
    _png(root / "ch2" / "002.png", seed=1)
    _png(root / "ch2" / "extra" / "003.png", seed=2)


def test_recursive_mirrors_the_tree(tmp_path):
    _tree(tmp_path / "in")
    assert (
        main(
            ["clean", "-r", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--mask-out", str(tmp_path / "masks")]
            + RUN
        )
        == 0
    )
    got = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert got == ["001.png", "ch2/002.png", "ch2/extra/003.png"]
    assert (tmp_path / "masks" / "ch2" / "extra" / "003.png").is_file()


def test_subfolders_are_never_skipped_silently(tmp_path, capsys):
    _tree(tmp_path / "in")
    assert main(["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out")] + RUN) == 0
    err = capsys.readouterr().err
    assert "subfolder(s) with images left out (ch2)" in err and "-r" in err
    assert [p.name for p in (tmp_path / "out").rglob("*.png")] == ["001.png"]


def test_an_output_folder_inside_the_input_tree_is_not_read_back(tmp_path):
    _tree(tmp_path / "in")
    out = tmp_path / "in" / "clean"
    assert main(["clean", "-r", str(tmp_path / "in"), "-o", str(out)] + RUN) == 0
    assert main(["clean", "-r", str(tmp_path / "in"), "-o", str(out), "--skip-existing"] + RUN) == 0
    assert not (out / "clean").exists()


def test_progress_shows_pages_rate_and_time_left(tmp_path, capsys):
    for i in range(3):
        _png(tmp_path / "in" / f"{i}.png", seed=i)
    assert main(["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out")] + RUN) == 0
    err = capsys.readouterr().err
    assert "3/3 pages" in err and "pages/min" in err and "left" in err


# ---------------------------------------------------------------- archives


def _cbz(path: Path) -> list[str]:
    names = ["ComicInfo.xml", "002.png", "001.jpg", "sub/003.webp"]  # not sorted: the order must be kept
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ComicInfo.xml", "<ComicInfo><Title>t</Title></ComicInfo>")
        for i, name in enumerate(names[1:]):
            fmt = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[name.rsplit(".", 1)[1]]
            buf = Path(path.parent / f"tmp.{name.rsplit('.', 1)[1]}")
            Image.fromarray(page(seed=i)).save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
            z.write(buf, name)
            buf.unlink()
    return names


def test_cbz_in_gives_cbz_out_with_the_same_order_and_names(tmp_path):
    names = _cbz(tmp_path / "vol1.cbz")
    out, masks = tmp_path / "out", tmp_path / "masks"
    assert main(["clean", str(tmp_path / "vol1.cbz"), "-o", str(out), "--mask-out", str(masks)] + RUN) == 0
    with zipfile.ZipFile(out / "vol1.cbz") as z:
        assert z.namelist() == names
        assert z.read("ComicInfo.xml") == b"<ComicInfo><Title>t</Title></ComicInfo>"
        for name in names[1:]:
            (tmp_path / "x").write_bytes(z.read(name))
            im = Image.open(tmp_path / "x")
            assert (
                im.size == (240, 200)
                and im.format == {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[name.rsplit(".", 1)[1]]
            )
    with zipfile.ZipFile(masks / "vol1.cbz") as z:
        assert z.namelist() == ["002.png", "001.png", "sub/003.png"]


def test_cbz_to_a_named_file_and_a_broken_page_is_kept(tmp_path, capsys):
    src = tmp_path / "v.zip"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("01.png", b"\x89PNG\r\n\x1a\n not really")
        buf = _png(tmp_path / "p.png")
        z.write(buf, "02.png")
    assert main(["clean", str(src), "-o", str(tmp_path / "clean.cbz")] + RUN) == 1
    err = capsys.readouterr().err
    assert "01.png" in err and "copied unchanged" in err and "Traceback" not in err
    with zipfile.ZipFile(tmp_path / "clean.cbz") as z:
        assert z.namelist() == ["01.png", "02.png"]
        assert z.read("01.png") == b"\x89PNG\r\n\x1a\n not really"


def test_cbr_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "v.cbr").write_bytes(b"Rar!\x1a\x07\x00")
    assert main(["clean", str(tmp_path / "v.cbr"), "-o", str(tmp_path / "out")] + RUN) == 1
    assert "repack it as .cbz" in capsys.readouterr().err


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
@pytest.mark.parametrize("out_ext", [".png", ".jpg", ".webp", ".tif"])
def test_dpi_and_icc_profile_survive_every_format(tmp_path, ext, out_ext):
    src = tmp_path / f"scan{ext}"
    im = Image.fromarray(page())
    fmt = {".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP", ".tif": "TIFF"}[ext]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    exif = Image.Exif()
    exif[0x011A], exif[0x011B], exif[0x0128] = 300.0, 300.0, 2  # WebP's only place for DPI
    im.save(src, fmt, dpi=(300, 300), icc_profile=SRGB, exif=exif.tobytes() if fmt == "WEBP" else b"", **extra)
    assert read_image_meta(src)[1].dpi == pytest.approx((300, 300), abs=0.01)
    out = tmp_path / f"out{out_ext}"
    assert main(["clean", str(src), "-o", str(out), "--mask-out", str(tmp_path / "m.png")] + RUN) == 0
    _, meta = read_image_meta(out)
    assert meta.dpi == pytest.approx((300, 300), abs=0.01)
    assert meta.icc == SRGB
    with Image.open(out) as written:  # and what another program sees
        assert written.info.get("icc_profile") == SRGB
        if out_ext != ".webp":
            assert written.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    mask_meta = read_image_meta(tmp_path / "m.png")[1]
    assert mask_meta.dpi == pytest.approx((300, 300), abs=0.01) and mask_meta.icc is None


@pytest.mark.parametrize("out_ext", [".jpg", ".png", ".webp", ".tif"])
def test_exif_orientation_is_kept(tmp_path, out_ext):
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90°
    Image.fromarray(page()).save(src, "JPEG", exif=exif.tobytes())
    out = tmp_path / f"out{out_ext}"
    assert main(["clean", str(src), "-o", str(out)] + RUN) == 0
    with Image.open(out) as im:
        assert im.getexif().get(0x0112) == 6
        # Pixels are stored as they were and the tag turns them; TIFF readers (Pillow, OpenCV) apply
        # the turn when they open the file, so there the reported size is already turned.
        assert im.size == ((200, 240) if out_ext == ".tif" else (240, 200))


# ---------------------------------------------------------- own masks


def test_inpaint_with_the_users_mask(tmp_path, capsys):
    rgb = np.full((200, 240, 3), 235, np.uint8)
    rgb[30:40, 40:80] = 10  # a mark to remove, on flat paper
    rgb[120:, :] = page()[120:, :]
    src = tmp_path / "page.png"
    Image.fromarray(rgb).save(src)
    mask = np.zeros((200, 240), np.uint8)
    mask[20:50, 30:90] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert main(["inpaint", str(src), "--mask", str(tmp_path / "mask.png"), "-o", str(out)] + RUN) == 0
    after = read_image(out)
    assert np.array_equal(after[mask == 0], rgb[mask == 0])
    assert (after[mask > 0] == 235).all(), "the mark inside the mask was not repainted"
    _refused(capsys, ["inpaint", str(src), "--mask", str(tmp_path / "mask.png"), "-o", str(out)], "--overwrite")
    Image.fromarray(mask[:100]).save(tmp_path / "small.png")
    _refused(
        capsys,
        ["inpaint", str(src), "--mask", str(tmp_path / "small.png"), "-o", str(tmp_path / "o2.png")],
        "--mask",
        "240×100",
    )
    _refused(
        capsys,
        ["inpaint", str(src), "--mask", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o3.png")],
        "--mask",
        "no such file",
    )


def test_protect_is_never_touched(tmp_path):
    src = _png(tmp_path / "page.png")
    protect = np.zeros((200, 240), np.uint8)
    protect[:, :120] = 255
    Image.fromarray(protect).save(tmp_path / "protect.png")
    args = ["--threshold", "0.01", "--grow", "6", "--min-area", "0"]
    assert (
        main(["clean", str(src), "-o", str(tmp_path / "free.png"), "--mask-out", str(tmp_path / "fm.png")] + args + RUN)
        == 0
    )
    assert read_image(tmp_path / "fm.png")[:, :120].any(), "the test needs text found in the protected half"
    assert (
        main(
            [
                "clean",
                str(src),
                "-o",
                str(tmp_path / "out.png"),
                "--mask-out",
                str(tmp_path / "m.png"),
                "--protect",
                str(tmp_path / "protect.png"),
            ]
            + args
            + RUN
        )
        == 0
    )
    assert not read_image(tmp_path / "m.png")[:, :120].any()
    assert np.array_equal(read_image(tmp_path / "out.png")[:, :120], read_image(src)[:, :120])


# ---------------------------------------------------------------- version


def test_versions():
    from textclean import __version__

    for cmd in (["textclean"], ["textclean-daemon"]):
        exe = Path(sys.executable).parent / cmd[0]
        r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == f"{cmd[0]} {__version__}"
    from importlib.metadata import version

    assert version("textclean") == __version__  # pyproject reads it from the package: one place


def test_every_argument_has_help():
    import argparse

    from textclean.cli import build_parser

    def walk(p: argparse.ArgumentParser):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    assert any(c.dest == name and c.help for c in a._choices_actions), name
                    yield from walk(sp)
            else:
                yield a

    for a in walk(build_parser()):
        assert a.help, a.option_strings or a.dest


# ----------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_a_folder_run_stops_cleanly(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(12):
        _png(src / f"{i:03d}.png", seed=i, size=(900, 700))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "textclean.cli", "clean", str(src), "-o", str(out)] + RUN,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A test run started in the background (nohup, `&`) ignores SIGINT, and a child inherits
        # that; Ctrl-C at a terminal is what is tested, so the child starts with the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 240
    while time.time() < deadline and not any(out.glob("*.png")):
        time.sleep(0.05)
    assert any(out.glob("*.png")), "no page was written in time"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.count("interrupted") == 1
    written = sorted(out.iterdir())
    assert all(p.suffix == ".png" and not p.name.startswith(".") for p in written), written
    for p in written:  # every file there is whole
        assert read_image(p).shape == (900, 700, 3)
    assert len(written) < 12
