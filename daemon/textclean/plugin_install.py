"""``textclean install-plugin gimp|krita``: copy an editor plugin and its client into place.

With ``--zip-dir`` it also writes a zip for installing by hand: GIMP users
unpack it into their plug-ins folder; Krita users pick it in *Tools >
Scripts > Import Python Plugin from File*. Without it no zip is written, so
nothing is left in the folder the command runs from.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

CLIENT_PACKAGE = "textclean_client"
EDITOR_PACKAGE = "textclean_editor"


def plugins_root() -> Path:
    """Where the plugin sources are: the checkout this code runs from, or the installed ``textclean_plugins``.

    The checkout first: run from a source tree (the tests, a developer), the plugins are the ones
    beside that code, not a copy installed earlier.
    """
    checkout = Path(__file__).resolve().parents[2] / "plugins"
    if (checkout / "__init__.py").is_file() and (checkout / "common").is_dir():
        return checkout
    try:
        import textclean_plugins

        return Path(textclean_plugins.__file__).resolve().parent
    except ImportError:
        return checkout


def client_root() -> Path:
    import textclean_client

    return Path(textclean_client.__file__).resolve().parent


def editor_root() -> Path:
    import textclean_editor

    return Path(textclean_editor.__file__).resolve().parent


def _gimp_config_base(platform: str, env: dict, home: Path) -> Path:
    if platform == "win32":
        return Path(env.get("APPDATA", home / "AppData" / "Roaming")) / "GIMP"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "GIMP"
    return Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "GIMP"


def default_gimp_dirs(platform: str = sys.platform, env: dict | None = None, home: Path | None = None) -> list[Path]:
    """The plug-ins folder of every GIMP 3 the user has run (GIMP 3.0 keeps GIMP/3.0, 3.2 keeps GIMP/3.2),
    or GIMP 3.0's when none has run yet (a later GIMP 3 copies the 3.0 folder on its first start)."""
    env = os.environ if env is None else env
    base = _gimp_config_base(platform, env, home or Path.home())
    found = []
    if base.is_dir():
        for d in base.iterdir():
            major, _, minor = d.name.partition(".")
            if major == "3" and minor.isdigit() and d.is_dir():
                found.append((int(minor), d / "plug-ins"))
    return [p for _, p in sorted(found)] or [base / "3.0" / "plug-ins"]


def default_gimp_dir(platform: str = sys.platform, env: dict | None = None, home: Path | None = None) -> Path:
    """The newest of ``default_gimp_dirs``."""
    return default_gimp_dirs(platform, env, home)[-1]


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
    """``out/textclean/``: the plug-in, the shared editor core and the client, as GIMP wants them."""
    target = out / "textclean"
    _copy_tree(plugins_root() / "gimp" / "textclean", target)
    _copy_tree(client_root(), target / CLIENT_PACKAGE)
    _copy_tree(editor_root(), target / EDITOR_PACKAGE)
    entry = target / "textclean.py"
    entry.chmod(entry.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def stage_krita(out: Path) -> Path:
    """``out/textclean.desktop`` and ``out/textclean_krita/`` with the client and the editor core inside it."""
    src = plugins_root() / "krita" / "pykrita"
    shutil.copy2(src / "textclean.desktop", out / "textclean.desktop")
    _copy_tree(src / "textclean_krita", out / "textclean_krita")
    _copy_tree(client_root(), out / "textclean_krita" / CLIENT_PACKAGE)
    _copy_tree(editor_root(), out / "textclean_krita" / EDITOR_PACKAGE)
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


KRITA_ENABLE_KEY = "enable_textclean_krita"


def enable_krita_plugin(kritarc: Path) -> str:
    """Set ``enable_textclean_krita=true`` in kritarc's ``[python]`` group and touch nothing else.

    Krita keys the switch by the plugin's module (X-KDE-Library), not by the
    name of its .desktop file. The file is edited as text, line by line: a
    config parser would drop comments, rewrite ``foo:bar=baz`` and join
    indented lines, and KConfig reads all of those back differently. The
    previous file is kept as ``kritarc.textclean-backup``. Returns what was
    done, in one sentence for the user.
    """
    line = f"{KRITA_ENABLE_KEY}=true"
    if not kritarc.exists():
        kritarc.parent.mkdir(parents=True, exist_ok=True)
        _replace_file(kritarc, f"[python]\n{line}\n".encode())
        return f"Created {kritarc} with [python] {line} (Krita adds its own settings on its next start)"
    data = kritarc.read_bytes()
    text = data.decode("utf-8", "surrogateescape")
    new, what = _with_key_set(text, "python", KRITA_ENABLE_KEY, "true")
    if new == text:
        return f"The plugin was already enabled in {kritarc}; left it unchanged"
    backup = kritarc.with_name(kritarc.name + ".textclean-backup")
    shutil.copy2(kritarc, backup)
    _replace_file(kritarc, new.encode("utf-8", "surrogateescape"))
    return f"{what} in {kritarc} (the previous file is kept as {backup})"


def _with_key_set(text: str, group: str, key: str, value: str) -> tuple[str, str]:
    """``text`` (a KConfig file) with ``key=value`` in ``[group]``, and what changed. Every other
    character, line endings and a missing final newline included, stays as it was."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    header = f"[{group}]"
    start = next((i for i, ln in enumerate(lines) if ln.strip() == header), None)
    if start is None:
        sep = "" if not text or text.endswith(("\n", "\r")) else newline
        blank = newline if text.strip() else ""
        return f"{text}{sep}{blank}{header}{newline}{key}={value}{newline}", f"Added [{group}] {key}={value}"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    for i in range(start + 1, end):
        name, eq, old = lines[i].partition("=")
        if eq and name.strip() == key:
            if old.strip() == value:
                return text, ""
            ending = lines[i][len(lines[i].rstrip("\r\n")) :] or newline
            lines[i] = f"{name}={value}{ending}"
            return "".join(lines), f"Changed [{group}] {key} from {old.strip()!r} to {value}"
    if not lines[start].endswith(("\n", "\r")):
        lines[start] += newline
    lines.insert(start + 1, f"{key}={value}{newline}")
    return "".join(lines), f"Added {key}={value} to [{group}]"


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` in one step, keeping its permissions: Krita never sees half a file."""
    tmp = path.with_name(f".{path.name}.textclean-tmp")
    tmp.write_bytes(data)
    if path.exists():
        shutil.copymode(path, tmp)
    os.replace(tmp, path)


@dataclass
class Installed:
    path: Path
    zip_path: Path | None
    notes: list[str] = field(default_factory=list)


def install(
    editor: str, dest: Path | None, zip_dir: Path | None, kritarc: Path | None = None, enable: bool = True
) -> Installed:
    """Install the plugin; ``zip_dir``: also write a zip for installing by hand there (None: no zip)."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        if editor == "gimp":
            stage_gimp(staging)
            zip_path = write_zip(staging, zip_dir / "textclean-gimp-plugin.zip") if zip_dir else None
            targets = [dest] if dest else default_gimp_dirs()
            for folder in targets:
                installed = folder / "textclean"
                if installed.exists():
                    shutil.rmtree(installed)
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copytree(staging / "textclean", installed)
            notes = [f"Also installed for the other GIMP in {t / 'textclean'}" for t in targets[:-1]]
            return Installed(targets[-1] / "textclean", zip_path, notes)
        dest = dest or default_krita_dir()
        stage_krita(staging)
        zip_path = write_zip(staging, zip_dir / "textclean-krita-plugin.zip") if zip_dir else None
        pykrita = dest / "pykrita"
        pykrita.mkdir(parents=True, exist_ok=True)
        if (pykrita / "textclean_krita").exists():
            shutil.rmtree(pykrita / "textclean_krita")
        shutil.copy2(staging / "textclean.desktop", pykrita / "textclean.desktop")
        shutil.copytree(staging / "textclean_krita", pykrita / "textclean_krita")
        if enable:
            notes = [enable_krita_plugin(kritarc or default_kritarc())]
        else:
            notes = [
                "Not enabled (--no-enable): turn it on in Settings > Configure Krita > Python Plugin Manager "
                "(textclean)"
            ]
        return Installed(pykrita, zip_path, notes)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-plugin", help="install the GIMP or Krita plugin")
    p.add_argument("editor", choices=["gimp", "krita"], help="the editor to install the plugin into")
    p.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="GIMP: the plug-ins folder (holds one folder per plug-in; default: that of every GIMP 3.x "
        "you have run); "
        "Krita: the resource folder (holds pykrita/)",
    )
    p.add_argument(
        "--zip-dir",
        type=Path,
        default=None,
        help="also write a zip for installing by hand into this folder (default: no zip, so nothing "
        "is left in the folder you run this from)",
    )
    p.add_argument(
        "--kritarc", type=Path, default=None, help="Krita: the kritarc to enable the plugin in (default: Krita's own)"
    )
    p.add_argument(
        "--no-enable",
        dest="enable",
        action="store_false",
        help="Krita: leave kritarc alone; enable the plugin in Krita's Python Plugin Manager yourself",
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = install(args.editor, args.dest, args.zip_dir, args.kritarc, getattr(args, "enable", True))
    except OSError as exc:
        print(f"textclean: error: cannot install the {args.editor} plugin: {exc}", file=sys.stderr)
        return 1
    name = "GIMP" if args.editor == "gimp" else "Krita"
    print(f"Installed the {name} plugin in {result.path}")
    if result.zip_path:
        print(f"Zip for manual install: {result.zip_path}")
    for note in result.notes:
        print(note)
    print(
        "Restart "
        + name
        + (
            "; the menu entry is Filters > Remove Text..."
            if name == "GIMP"
            else "; the docker is Settings > Dockers > textclean"
        )
    )
    return 0
