"""The plugins' editor-free cores and the installer, outside the editors."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gimp_core = _load("gimp_core", REPO / "plugins" / "gimp" / "textclean" / "gimp_core.py")
sys.path.insert(0, str(REPO / "plugins" / "krita" / "pykrita"))
from textclean import plugin_install  # noqa: E402
from textclean_krita import core as krita_core  # noqa: E402


@pytest.mark.parametrize("encoding,expected", [
    ("R'G'B'A u8", ("R'G'B'A u8", "RGBA", "u8")),
    ("R'G'B' u16", ("R'G'B' u16", "RGB", "u16")),
    ("RGBA float", ("RGBA float", "RGBA", "f32")),
    ("R~G~B~A half", ("R~G~B~A half", "RGBA", "f16")),
    ("Y'A u8", ("Y'A u8", "GRAYA", "u8")),
    ("Y u32", ("Y float", "GRAY", "f32")),
    ("RaGaBaA float", ("RGBA float", "RGBA", "f32")),
])
def test_gimp_wire_format_keeps_the_layers_own_encoding(encoding, expected):
    assert gimp_core.wire_format(encoding) == expected


def test_gimp_wire_format_refuses_what_it_cannot_carry():
    with pytest.raises(gimp_core.PluginError):
        gimp_core.wire_format("CMYK u8")


def test_gimp_canvas_overlap_and_crop():
    assert gimp_core.canvas_overlap(-20, -10, 100, 50, 60, 30) == (0, 0, 60, 30)
    assert gimp_core.canvas_overlap(70, 0, 10, 10, 60, 30) is None
    data = bytes(range(12))  # 4×3, 1 byte per pixel
    assert gimp_core.crop_rows(data, 4, 1, 1, 1, 3, 3) == bytes([5, 6, 9, 10])


def test_gimp_params_and_messages():
    assert gimp_core.params(0.0, 4) == {"grow": 4}
    assert gimp_core.params(0.6, 2) == {"grow": 2, "threshold": 0.6}

    class DaemonError(Exception):
        code = "too_large"

    assert gimp_core.user_message(DaemonError("image is big")).endswith("[too_large]")


@pytest.mark.parametrize("model,depth,layout,wire", [
    ("RGBA", "U8", "BGRA", "u8"), ("RGBA", "U16", "BGRA", "u16"), ("RGBA", "F16", "RGBA", "f16"),
    ("RGBA", "F32", "RGBA", "f32"), ("GRAYA", "U8", "GRAYA", "u8"), ("GRAYA", "F32", "GRAYA", "f32"),
])
def test_krita_formats(model, depth, layout, wire):
    assert krita_core.wire_format(model, depth) == (layout, wire)
    image = krita_core.image_request(b"\0" * (3 * 2 * 16), 3, 2, model, depth)
    assert (image.layout, image.depth) == (layout, wire)


@pytest.mark.parametrize("model,name", [("CMYKA", "CMYK"), ("LABA", "Lab")])
def test_krita_other_colour_models_get_a_clear_message(model, name):
    with pytest.raises(krita_core.PluginError, match=f"not {name}.*Convert Image Color Space"):
        krita_core.wire_format(model, "U8")


def test_krita_region_and_results():
    assert krita_core.region_request(None, 2, 2) is None
    with pytest.raises(krita_core.PluginError, match="does not touch"):
        krita_core.region_request(b"\0\0\0\0", 2, 2)
    region = krita_core.region_request(b"\0\xff\0\0", 2, 2)
    assert (region.layout, region.width) == ("GRAY", 2)
    result = krita_core.Image(2, 2, "BGRA", "u8", b"\1" * 16)
    assert krita_core.check_result(result, 2, 2, "BGRA", "u8") == b"\1" * 16
    with pytest.raises(krita_core.PluginError):
        krita_core.check_result(result, 3, 2, "BGRA", "u8")


def test_krita_settings():
    assert krita_core.params({"threshold": 0.0, "grow": 5}) == {"grow": 5}
    assert krita_core.params({"threshold": 0.7, "grow": "2"}) == {"grow": 2, "threshold": 0.7}
    assert krita_core.parse_setting("grow", "7") == 7
    assert krita_core.parse_setting("grow", "seven") == 3
    assert krita_core.parse_setting("endpoint", "") == krita_core.DEFAULTS["endpoint"]
    assert "CPU" in krita_core.status_line({"device": "cpu"}, None, 1.23) and "1.2 s" in \
        krita_core.status_line({"device": "cpu"}, None, 1.23)
    assert krita_core.status_line(None, "not running", None) == "not running"


@pytest.mark.parametrize("platform,env,expected", [
    ("linux", {}, "/home/u/.config/GIMP/3.0/plug-ins"),
    ("linux", {"XDG_CONFIG_HOME": "/x"}, "/x/GIMP/3.0/plug-ins"),
    ("darwin", {}, "/home/u/Library/Application Support/GIMP/3.0/plug-ins"),
    ("win32", {"APPDATA": "C:/Users/u/AppData/Roaming"}, "C:/Users/u/AppData/Roaming/GIMP/3.0/plug-ins"),
])
def test_gimp_folders_per_platform(platform, env, expected):
    assert plugin_install.default_gimp_dir(platform, env, Path("/home/u")) == Path(expected)


def test_krita_folders_per_platform():
    home = Path("/home/u")
    assert plugin_install.default_krita_dir("linux", {}, home) == home / ".local/share/krita"
    assert plugin_install.default_krita_dir("win32", {"APPDATA": "C:/A"}, home) == Path("C:/A/krita")
    assert plugin_install.default_kritarc("win32", {"LOCALAPPDATA": "C:/L"}, home) == Path("C:/L/kritarc")
    assert plugin_install.default_kritarc("darwin", {}, home) == home / "Library/Preferences/kritarc"


def test_install_gimp_and_zip(tmp_path):
    installed, zip_path = plugin_install.install("gimp", tmp_path / "plug-ins", tmp_path)
    entry = installed / "textclean.py"
    assert entry.exists() and entry.stat().st_mode & 0o111
    assert (installed / "gimp_core.py").exists() and (installed / "textclean_client" / "_zmtp.py").exists()
    names = zipfile.ZipFile(zip_path).namelist()
    assert "textclean/textclean.py" in names and "textclean/textclean_client/__init__.py" in names
    assert not any("__pycache__" in n for n in names)


def test_install_krita_enables_it_and_keeps_other_settings(tmp_path):
    rc = tmp_path / "kritarc"
    rc.write_text("[General]\nSomeKey=1\n\n[python]\nenable_other=true\n")
    installed, zip_path = plugin_install.install("krita", tmp_path / "res", tmp_path, rc)
    assert (installed / "textclean.desktop").exists()
    assert (installed / "textclean_krita" / "textclean_client" / "__init__.py").exists()
    text = rc.read_text()
    assert "enable_textclean_krita=true" in text and "enable_other=true" in text and "SomeKey=1" in text
    names = zipfile.ZipFile(zip_path).namelist()
    assert "textclean.desktop" in names and "textclean_krita/actions.py" in names


def test_cli_install_plugin(tmp_path, capsys):
    from textclean.cli import main

    assert main(["install-plugin", "gimp", "--dest", str(tmp_path / "p"), "--zip-dir", str(tmp_path)]) == 0
    assert "textclean-gimp-plugin.zip" in capsys.readouterr().out
