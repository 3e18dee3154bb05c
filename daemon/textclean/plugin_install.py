"""``textclean install-plugin gimp|krita``: copy an editor plugin and its client into place.

Each install also writes a zip for installing by hand: GIMP users unpack it
into their plug-ins folder; Krita users pick it in *Tools > Scripts >
Import Python Plugin from File*.
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

CLIENT_PACKAGE = "textclean_client"


def plugins_root() -> Path:
    """Where the plugin sources are: the installed ``textclean_plugins`` package, or the checkout."""
    try:
        import textclean_plugins

        return Path(textclean_plugins.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parents[2] / "plugins"


def client_root() -> Path:
    import textclean_client

    return Path(textclean_client.__file__).resolve().parent


def default_gimp_dir(platform: str = sys.platform, env: dict | None = None, home: Path | None = None) -> Path:
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform == "win32":
        base = Path(env.get("APPDATA", home / "AppData" / "Roaming"))
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_CONFIG_HOME", home / ".config"))
    return base / "GIMP" / "3.0" / "plug-ins"


def default_krita_dir(platform: str = sys.platform, env: dict | None = None, home: Path | None = None) -> Path:
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform == "win32":
        return Path(env.get("APPDATA", home / "AppData" / "Roaming")) / "krita"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "krita"
    return Path(env.get("XDG_DATA_HOME", home / ".local" / "share")) / "krita"


def default_kritarc(platform: str = sys.platform, env: dict | None = None, home: Path | None = None) -> Path:
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform == "win32":
        return Path(env.get("LOCALAPPDATA", home / "AppData" / "Local")) / "kritarc"
    if platform == "darwin":
        return home / "Library" / "Preferences" / "kritarc"
    return Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "kritarc"


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def stage_gimp(out: Path) -> Path:
    """``out/textclean/``: the plug-in, its core and the client, as GIMP wants them."""
    target = out / "textclean"
    _copy_tree(plugins_root() / "gimp" / "textclean", target)
    _copy_tree(client_root(), target / CLIENT_PACKAGE)
    entry = target / "textclean.py"
    entry.chmod(entry.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def stage_krita(out: Path) -> Path:
    """``out/textclean.desktop`` and ``out/textclean_krita/`` with the client inside it."""
    src = plugins_root() / "krita" / "pykrita"
    shutil.copy2(src / "textclean.desktop", out / "textclean.desktop")
    _copy_tree(src / "textclean_krita", out / "textclean_krita")
    _copy_tree(client_root(), out / "textclean_krita" / CLIENT_PACKAGE)
    return out / "textclean_krita"


def write_zip(staged: Path, zip_path: Path) -> Path:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(staged.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, str(path.relative_to(staged)))
                with open(path, "rb") as f:
                    z.writestr(info, f.read(), zipfile.ZIP_DEFLATED)
    return zip_path


def enable_krita_plugin(kritarc: Path) -> None:
    """Set ``enable_textclean_krita=true`` in kritarc's ``[python]`` group, keeping the rest.

    Krita keys the switch by the plugin's module (X-KDE-Library), not by the
    name of its .desktop file.
    """
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # Krita's keys are case-sensitive
    if kritarc.exists():
        parser.read(kritarc, encoding="utf-8")
    if not parser.has_section("python"):
        parser.add_section("python")
    parser.set("python", "enable_textclean_krita", "true")
    kritarc.parent.mkdir(parents=True, exist_ok=True)
    with open(kritarc, "w", encoding="utf-8") as f:
        parser.write(f, space_around_delimiters=False)


def install(editor: str, dest: Path | None, zip_dir: Path, kritarc: Path | None = None) -> tuple[Path, Path]:
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        if editor == "gimp":
            dest = dest or default_gimp_dir()
            stage_gimp(staging)
            zip_path = write_zip(staging, zip_dir / "textclean-gimp-plugin.zip")
            installed = dest / "textclean"
            if installed.exists():
                shutil.rmtree(installed)
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copytree(staging / "textclean", installed)
        else:
            dest = dest or default_krita_dir()
            stage_krita(staging)
            zip_path = write_zip(staging, zip_dir / "textclean-krita-plugin.zip")
            pykrita = dest / "pykrita"
            pykrita.mkdir(parents=True, exist_ok=True)
            if (pykrita / "textclean_krita").exists():
                shutil.rmtree(pykrita / "textclean_krita")
            shutil.copy2(staging / "textclean.desktop", pykrita / "textclean.desktop")
            shutil.copytree(staging / "textclean_krita", pykrita / "textclean_krita")
            enable_krita_plugin(kritarc or default_kritarc())
            installed = pykrita
    return installed, zip_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-plugin", help="install the GIMP or Krita plugin")
    p.add_argument("editor", choices=["gimp", "krita"], help="the editor to install the plugin into")
    p.add_argument("--dest", type=Path, default=None,
                   help="GIMP: the plug-ins folder (holds one folder per plug-in); "
                        "Krita: the resource folder (holds pykrita/)")
    p.add_argument("--zip-dir", type=Path, default=Path.cwd(), help="where to write the zip (default: here)")
    p.add_argument("--kritarc", type=Path, default=None, help="Krita's kritarc to enable the plugin in")


def run(args: argparse.Namespace) -> int:
    try:
        installed, zip_path = install(args.editor, args.dest, args.zip_dir, args.kritarc)
    except OSError as exc:
        print(f"textclean: error: cannot install the {args.editor} plugin: {exc}", file=sys.stderr)
        return 1
    name = "GIMP" if args.editor == "gimp" else "Krita"
    print(f"Installed the {name} plugin in {installed}\nZip for manual install: {zip_path}")
    print("Restart " + name + ("; the menu entry is Filters > Remove Text..." if name == "GIMP"
                               else "; the docker is Settings > Dockers > textclean"))
    return 0
