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
import textclean_client as tc  # noqa: E402
import textclean_editor as editor  # noqa: E402
from textclean import plugin_install  # noqa: E402
from textclean_client import params as param_table  # noqa: E402
from textclean_krita import core as krita_core  # noqa: E402


@pytest.mark.parametrize(
    "encoding,expected",
    [
        ("R'G'B'A u8", ("R'G'B'A u8", "RGBA", "u8")),
        ("R'G'B' u16", ("R'G'B' u16", "RGB", "u16")),
        ("RGBA float", ("RGBA float", "RGBA", "f32")),
        ("R~G~B~A half", ("R~G~B~A half", "RGBA", "f16")),
        ("Y'A u8", ("Y'A u8", "GRAYA", "u8")),
        ("Y u32", ("Y float", "GRAY", "f32")),
        ("RaGaBaA float", ("RGBA float", "RGBA", "f32")),
    ],
)
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


def test_gimp_procedures_cover_every_shared_action():
    assert set(gimp_core.PROCEDURES) == set(editor.ACTIONS)
    assert gimp_core.PROCEDURES["remove"] == "plug-in-textclean-remove-text"
    assert gimp_core.PROCEDURES["inpaint"] == "plug-in-textclean-inpaint-selection"
    assert gimp_core.PluginError is editor.PluginError is krita_core.PluginError


# ------------------------------------------------------- the shared editor core


def test_editor_params_follow_the_parameter_table():
    assert editor.params({"threshold": 0.0, "grow": 4, "endpoint": "x"}) == {"grow": 4}
    assert editor.params({"threshold": 0.6, "grow": "2"}) == {"grow": 2, "threshold": 0.6}
    assert editor.params({"threshold": None, "min_area": 5.0, "fill_holes": False}) == {
        "min_area": 5,
        "fill_holes": False,
    }
    grow = param_table.BY_NAME["grow"]
    for bad, words in (
        (grow.hi + 1, "grow must be 0..64"),
        (-1, "grow"),
        ("seven", "whole number"),
        (2.5, "whole number"),
    ):
        with pytest.raises(editor.PluginError, match=words):
            editor.params({"grow": bad})
    for bad in (1.0, 1.5, -0.2, float("nan")):
        with pytest.raises(editor.PluginError, match="threshold"):
            editor.params({"threshold": bad})


def test_editor_dialog_ranges_come_from_the_parameter_table():
    for name in editor.DIALOG_PARAMS:
        p = param_table.BY_NAME[name]
        lo, hi, default = editor.dialog_range(name)
        if p.open_range:  # 0 is the dialog's "model default"; the highest value must be accepted
            assert (lo, default) == (0.0, 0.0) and p.lo < hi < p.hi
            assert editor.params({name: hi}) == {name: hi}
        else:
            assert (lo, hi, default) == (p.lo, p.hi, p.default)
            assert editor.params({name: hi}) == {name: hi} and editor.params({name: lo}) == {name: lo}
    assert krita_core.DEFAULTS["grow"] == param_table.BY_NAME["grow"].default


class FakeClient:
    """Records what the core asks for, and answers like the daemon would."""

    def __init__(self) -> None:
        self.calls = []

    def segment(self, image, region, params, progress=None):
        self.calls.append(("segment", region is not None, params))
        return tc.Image(image.width, image.height, "GRAY", "u8", b"\xff" * image.width * image.height)

    def remove_text(self, image, region, params, progress=None):
        self.calls.append(("remove_text", region is not None, params))
        return tc.Image(image.width, image.height, "GRAY", "u8", b"\xff" * image.width * image.height), image

    def inpaint(self, image, mask, params, progress=None):
        self.calls.append(("inpaint", mask is not None, params))
        return image


def test_editor_run_dispatches_each_action_and_refuses_before_asking():
    image = tc.Image(2, 2, "RGBA", "u8", b"\0" * 16)
    region = tc.Image(2, 2, "GRAY", "u8", b"\xff\0\0\0")
    client = FakeClient()
    mask, result = editor.run(client, "remove", image, None, {"grow": 5})
    assert mask.layout == "GRAY" and result is image
    mask, result = editor.run(client, "select", image, region, {"threshold": 0.5, "grow": 1})
    assert mask is not None and result is None
    mask, result = editor.run(client, "inpaint", image, region, {"grow": 99})  # inpaint takes no mask params
    assert mask is None and result is image
    assert client.calls == [
        ("remove_text", False, {"grow": 5}),
        ("segment", True, {"threshold": 0.5, "grow": 1}),
        ("inpaint", True, {}),
    ]
    for kind, reg, settings, words in (
        ("inpaint", None, {}, "select the area to inpaint first"),
        ("remove", None, {"grow": 65}, "grow"),
        ("erase", None, {}, "unknown action"),
    ):
        with pytest.raises(editor.PluginError, match=words):
            editor.run(client, kind, image, reg, settings)
    assert len(client.calls) == 3, "a refused action reached the daemon"


def test_editor_results_are_checked_before_they_go_back():
    result = tc.Image(2, 2, "BGRA", "u8", b"\1" * 16)
    assert editor.check_result(result, 2, 2, "BGRA", "u8") == b"\1" * 16
    with pytest.raises(editor.PluginError, match="returned"):
        editor.check_result(result, 3, 2, "BGRA", "u8")


def test_editor_messages_name_the_fix_and_the_endpoint():
    other = "tcp://127.0.0.1:48000"
    with pytest.raises(tc.DaemonNotRunning) as info:
        tc.connect(f"tcp://127.0.0.1:{_free_port()}")
    text = editor.user_message(info.value, other)
    assert text.startswith("textclean: The textclean daemon is not running") and "\n" not in text
    assert text.endswith(f"Start it with: textclean-daemon start --endpoint {other}")
    assert editor.user_message(info.value, tc.DEFAULT_ENDPOINT).endswith("Start it with: textclean-daemon start")
    assert editor.user_message(tc.DaemonError("too_large", "image is big")).endswith("image is big [too_large]")
    assert editor.user_message(editor.PluginError("select a layer")) == "textclean: select a layer"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "model,depth,layout,wire",
    [
        ("RGBA", "U8", "BGRA", "u8"),
        ("RGBA", "U16", "BGRA", "u16"),
        ("RGBA", "F16", "RGBA", "f16"),
        ("RGBA", "F32", "RGBA", "f32"),
        ("GRAYA", "U8", "GRAYA", "u8"),
        ("GRAYA", "F32", "GRAYA", "f32"),
    ],
)
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


def test_krita_settings():
    assert krita_core.parse_setting("grow", "7") == 7
    assert krita_core.parse_setting("grow", "seven") == krita_core.DEFAULTS["grow"] == 1  # the table's default
    assert krita_core.parse_setting("endpoint", "") == krita_core.DEFAULTS["endpoint"]
    assert "CPU" in krita_core.status_line({"device": "cpu"}, None, 1.23) and "1.2 s" in krita_core.status_line(
        {"device": "cpu"}, None, 1.23
    )
    assert krita_core.status_line(None, "not running", None) == "not running"


@pytest.mark.parametrize(
    "platform,env,expected",
    [
        ("linux", {}, "/home/u/.config/GIMP/3.0/plug-ins"),
        ("linux", {"XDG_CONFIG_HOME": "/x"}, "/x/GIMP/3.0/plug-ins"),
        ("darwin", {}, "/home/u/Library/Application Support/GIMP/3.0/plug-ins"),
        ("win32", {"APPDATA": "C:/Users/u/AppData/Roaming"}, "C:/Users/u/AppData/Roaming/GIMP/3.0/plug-ins"),
    ],
)
def test_gimp_folders_per_platform(platform, env, expected):
    assert plugin_install.default_gimp_dir(platform, env, Path("/home/u")) == Path(expected)


def test_gimp_folders_follow_each_gimp_the_user_has(tmp_path):
    config = tmp_path / ".config" / "GIMP"
    assert plugin_install.default_gimp_dirs("linux", {}, tmp_path) == [config / "3.0" / "plug-ins"]
    for name in ("3.2", "3.0", "2.10", "3.x"):
        (config / name).mkdir(parents=True)
    assert plugin_install.default_gimp_dirs("linux", {}, tmp_path) == [
        config / "3.0" / "plug-ins",
        config / "3.2" / "plug-ins",
    ]
    assert plugin_install.default_gimp_dir("linux", {}, tmp_path) == config / "3.2" / "plug-ins"


def test_krita_folders_per_platform():
    home = Path("/home/u")
    assert plugin_install.default_krita_dir("linux", {}, home) == home / ".local/share/krita"
    assert plugin_install.default_krita_dir("win32", {"APPDATA": "C:/A"}, home) == Path("C:/A/krita")
    assert plugin_install.default_kritarc("win32", {"LOCALAPPDATA": "C:/L"}, home) == Path("C:/L/kritarc")
    assert plugin_install.default_kritarc("darwin", {}, home) == home / "Library/Preferences/kritarc"


def test_install_gimp_and_zip(tmp_path):
    result = plugin_install.install("gimp", tmp_path / "plug-ins", tmp_path)
    entry = result.path / "textclean.py"
    assert entry.exists() and entry.stat().st_mode & 0o111
    assert (result.path / "gimp_core.py").exists() and (result.path / "textclean_client" / "_zmtp.py").exists()
    assert (result.path / "textclean_editor" / "__init__.py").exists()
    names = zipfile.ZipFile(result.zip_path).namelist()
    assert "textclean/textclean.py" in names and "textclean/textclean_client/__init__.py" in names
    assert "textclean/textclean_editor/__init__.py" in names
    assert not any("__pycache__" in n for n in names)


def test_the_vendored_plugins_import_their_own_copies(tmp_path):
    """Installed, each plugin finds the client and the editor core inside itself, not on sys.path."""
    import subprocess

    gimp = plugin_install.install("gimp", tmp_path / "plug-ins", tmp_path).path
    krita = plugin_install.install("krita", tmp_path / "res", tmp_path, enable=False).path
    probe = (
        f"import sys; sys.path[:0] = [{str(gimp)!r}, {str(krita)!r}]; import gimp_core, textclean_editor; "
        "import textclean_krita.core as k; print(textclean_editor.__file__); print(k.editor.__file__); "
        "print(k.tc.__file__)"
    )
    r = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    paths = r.stdout.split()
    assert paths[0].startswith(str(gimp)) and paths[1].startswith(str(krita / "textclean_krita"))
    assert paths[2].startswith(str(krita / "textclean_krita"))


KRITARC_WRITTEN_BY_HAND = (
    "# my notes: do not lose this comment\r\n"
    "[General]\r\n"
    "foo:bar=baz\r\n"
    "  indented=value with = signs  \r\n"
    "Some Key[$e]=$HOME/x\r\n"
    "\r\n"
    "[python]\r\n"
    "; another comment\r\n"
    "enable_other=true\r\n"
    "\r\n"
    "[python][sub]\r\n"
    "enable_textclean_krita=false\r\n"
    "[Zzz]\r\n"
    "last=line without newline"
)


def test_kritarc_keeps_every_other_byte(tmp_path, capsys):
    rc = tmp_path / "kritarc"
    rc.write_bytes(KRITARC_WRITTEN_BY_HAND.encode() + b"\xe9\r\n")  # a Latin-1 byte: kept as it is
    from textclean.cli import main

    assert (
        main(
            [
                "install-plugin",
                "krita",
                "--dest",
                str(tmp_path / "res"),
                "--zip-dir",
                str(tmp_path),
                "--kritarc",
                str(rc),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    after = rc.read_bytes()
    before = KRITARC_WRITTEN_BY_HAND.encode() + b"\xe9\r\n"
    expected = before.replace(b"[python]\r\n", b"[python]\r\nenable_textclean_krita=true\r\n", 1)
    assert after == expected
    backup = rc.with_name("kritarc.textclean-backup")
    assert backup.read_bytes() == before
    assert str(rc) in out and "enable_textclean_krita=true" in out and str(backup) in out

    # Again: nothing to change, so nothing is written and the backup is not replaced by the changed file.
    assert (
        main(
            [
                "install-plugin",
                "krita",
                "--dest",
                str(tmp_path / "res"),
                "--zip-dir",
                str(tmp_path),
                "--kritarc",
                str(rc),
            ]
        )
        == 0
    )
    assert "already enabled" in capsys.readouterr().out and rc.read_bytes() == expected
    assert backup.read_bytes() == before


@pytest.mark.parametrize(
    "before,after",
    [
        ("[python]\nenable_textclean_krita=false\nx=1\n", "[python]\nenable_textclean_krita=true\nx=1\n"),
        ("[General]\na=1", "[General]\na=1\n\n[python]\nenable_textclean_krita=true\n"),
        ("", "[python]\nenable_textclean_krita=true\n"),
        ("[python]", "[python]\nenable_textclean_krita=true\n"),
    ],
)
def test_kritarc_edits_only_the_one_key(tmp_path, before, after):
    rc = tmp_path / "kritarc"
    rc.write_bytes(before.encode())
    plugin_install.enable_krita_plugin(rc)
    assert rc.read_bytes().decode() == after


def test_kritarc_is_created_only_with_a_word_and_left_alone_with_no_enable(tmp_path, capsys):
    from textclean.cli import main

    rc = tmp_path / "config" / "kritarc"
    assert (
        main(
            [
                "install-plugin",
                "krita",
                "--dest",
                str(tmp_path / "res"),
                "--zip-dir",
                str(tmp_path),
                "--kritarc",
                str(rc),
                "--no-enable",
            ]
        )
        == 0
    )
    assert not rc.exists() and "Python Plugin Manager" in capsys.readouterr().out
    assert (
        main(
            [
                "install-plugin",
                "krita",
                "--dest",
                str(tmp_path / "res"),
                "--zip-dir",
                str(tmp_path),
                "--kritarc",
                str(rc),
            ]
        )
        == 0
    )
    assert f"Created {rc}" in capsys.readouterr().out
    assert rc.read_text() == "[python]\nenable_textclean_krita=true\n"
    rc.chmod(0o600)
    rc.write_text("[python]\nenable_textclean_krita=false\n")
    plugin_install.enable_krita_plugin(rc)
    assert rc.stat().st_mode & 0o777 == 0o600, "the rewrite changed kritarc's permissions"


def test_install_krita_and_zip(tmp_path):
    rc = tmp_path / "kritarc"
    rc.write_text("[General]\nSomeKey=1\n\n[python]\nenable_other=true\n")
    result = plugin_install.install("krita", tmp_path / "res", tmp_path, rc)
    assert (result.path / "textclean.desktop").exists()
    assert (result.path / "textclean_krita" / "textclean_client" / "__init__.py").exists()
    assert (result.path / "textclean_krita" / "textclean_editor" / "__init__.py").exists()
    assert rc.read_text() == "[General]\nSomeKey=1\n\n[python]\nenable_textclean_krita=true\nenable_other=true\n"
    names = zipfile.ZipFile(result.zip_path).namelist()
    assert "textclean.desktop" in names and "textclean_krita/actions.py" in names
    assert "textclean_krita/qt.py" in names and "textclean_krita/textclean_editor/__init__.py" in names


def test_cli_install_plugin(tmp_path, capsys):
    from textclean.cli import main

    assert main(["install-plugin", "gimp", "--dest", str(tmp_path / "p"), "--zip-dir", str(tmp_path)]) == 0
    assert "textclean-gimp-plugin.zip" in capsys.readouterr().out


def test_install_plugin_leaves_no_zip_in_the_working_folder(tmp_path, capsys, monkeypatch):
    from textclean.cli import main

    work = tmp_path / "here"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["install-plugin", "gimp", "--dest", str(tmp_path / "p")]) == 0
    assert list(work.iterdir()) == []
    assert "Zip" not in capsys.readouterr().out
    assert (tmp_path / "p" / "textclean" / "textclean.py").exists()
