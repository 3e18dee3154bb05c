"""What the GIMP and Krita plugins share above the client: actions, parameters, checks and messages.

Both plugins are thin glue between their editor and this module: the editor
reads pixels and the selection, this module decides what to ask the daemon
and what to tell the user, and the editor puts the answer back. Standard
library only, Python 3.8 syntax: it runs in the editors' own Python.
``install-plugin`` copies it into each plugin next to ``textclean_client``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple, Tuple

try:  # vendored: a sibling package inside the plugin
    from .. import textclean_client as tc
    from ..textclean_client import params as _params
except (ImportError, ValueError):  # top level: the GIMP plug-in's folder, or the repository
    import textclean_client as tc
    from textclean_client import params as _params

__all__ = [
    "PluginError",
    "Action",
    "ACTIONS",
    "RESULT_LAYER_NAME",
    "INPAINT_LAYER_NAME",
    "DIALOG_PARAMS",
    "dialog_range",
    "params",
    "check_region",
    "run",
    "check_result",
    "start_hint",
    "user_message",
]

RESULT_LAYER_NAME = "Text removed"
INPAINT_LAYER_NAME = "Inpainted"


class PluginError(Exception):
    """A problem to show the user; the image has not been changed."""


class Action(NamedTuple):
    kind: str  # "remove", "select" or "inpaint"
    label: str  # the button or menu text
    summary: str  # one line of help
    op: str  # the daemon's operation
    layer: str | None  # the name of the layer it adds, if any
    takes_params: bool  # whether the mask parameters apply


ACTIONS: Dict[str, Action] = {
    a.kind: a
    for a in (
        Action(
            "remove",
            "Remove Text",
            "find the text (inside the selection, if any), select it, and paint it out "
            "into a new layer above the original",
            "remove_text",
            RESULT_LAYER_NAME,
            True,
        ),
        Action("select", "Select Text", "only select the text, for editing", "segment", None, True),
        Action(
            "inpaint",
            "Inpaint Selection",
            "paint out the selection into a new layer",
            "inpaint",
            INPAINT_LAYER_NAME,
            False,
        ),
    )
}

# The mask parameters the dialogs show; the others keep the daemon's defaults.
DIALOG_PARAMS: Tuple[str, ...] = ("threshold", "grow")
# The threshold's dialog value that means "the shipped model's own".
MODEL_DEFAULT = 0.0


def dialog_range(name: str) -> Tuple[float, float, float]:
    """(lowest, highest, default) for a dialog's spin box, from the one parameter table.

    A threshold's range is open (0 and 1 themselves are refused), so the dialog
    runs from 0, shown as "model default", to just under 1.
    """
    p = _params.BY_NAME[name]
    if p.open_range:
        return MODEL_DEFAULT, round(p.hi - 0.01, 2), MODEL_DEFAULT if p.default is None else p.default
    return p.lo, p.hi, p.default


def params(settings: Dict[str, Any]) -> Dict[str, Any]:
    """Protocol parameters from a dialog's or a script's settings, checked against the parameter table.

    A threshold of 0 (or None) means the model's own. Other keys (such as
    ``endpoint``) are not parameters and are ignored; a bad value raises
    PluginError naming it.
    """
    out: Dict[str, Any] = {}
    for p in _params.PARAMS:
        if p.name not in settings:
            continue
        value = settings[p.name]
        if p.name == "threshold" and (value is None or value == MODEL_DEFAULT):
            continue
        if p.kind is int and isinstance(value, (float, str)) and not isinstance(value, bool):
            value = _as_number(p, value, int)
        elif p.kind is float and isinstance(value, str):
            value = _as_number(p, value, float)
        try:
            out[p.name] = _params.check(p, value)
        except _params.ParamError as exc:
            raise PluginError(str(exc)) from None
    return out


def _as_number(p: Any, value: Any, kind: type) -> Any:
    try:
        number = float(value)
    except ValueError:
        raise PluginError(
            "{} must be {}, got {!r}".format(p.name, "a whole number" if kind is int else "a number", value)
        ) from None
    if kind is int:
        if not number.is_integer():
            raise PluginError(f"{p.name} must be a whole number, got {value!r}")
        return int(number)
    return number


def check_region(kind: str, region: tc.Image | None) -> None:
    """Refuse, before anything is sent or changed, what an action cannot do with this selection."""
    if kind not in ACTIONS:
        raise PluginError("unknown action {!r}; known: {}".format(kind, ", ".join(ACTIONS)))
    if kind == "inpaint" and region is None:
        raise PluginError("select the area to inpaint first")


def run(
    client: Any,
    kind: str,
    image: tc.Image,
    region: tc.Image | None,
    settings: Dict[str, Any],
    progress: Callable[[float, str], Any] | None = None,
) -> Tuple[tc.Image | None, tc.Image | None]:
    """Ask the daemon for ``kind``; returns (mask or None, new layer's pixels or None).

    ``region`` is the selection over the layer (GRAY u8) or None. The mask
    becomes the new selection; the pixels become the new layer.
    """
    check_region(kind, region)
    if kind == "inpaint":
        return None, client.inpaint(image, region, {}, progress=progress)
    mask_params = params(settings)
    if kind == "select":
        return client.segment(image, region, mask_params, progress=progress), None
    mask, cleaned = client.remove_text(image, region, mask_params, progress=progress)
    return mask, cleaned


def check_result(result: tc.Image, width: int, height: int, layout: str, depth: str) -> bytes:
    """The result's pixel bytes, after checking they fit where they go back."""
    if (result.width, result.height, result.layout, result.depth) != (width, height, layout, depth):
        raise PluginError(f"the daemon returned {result!r}, not {width}×{height} {layout} {depth}")
    return bytes(result.data)


def start_hint(endpoint: str | None) -> str:
    """The command that starts the daemon where the plugin looks for it."""
    return f"Start it with: {tc.start_command(endpoint)}"


def user_message(exc: BaseException, endpoint: str | None = None) -> str:
    """One message for the user, without the client's multi-line help, and with the fix when there is one."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    code = getattr(exc, "code", None)
    if isinstance(exc, (tc.DaemonNotRunning, tc.ConnectionLost)):
        text = f"{text} {start_hint(endpoint)}"
    elif code and code not in ("client", "not_running") and f"[{code}]" not in text:
        text = f"{text} [{code}]"
    return "textclean: " + text
