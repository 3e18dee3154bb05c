"""The CLI, the protocol and MaskParams accept the same parameter names and ranges (issue 14, item 3).

All three derive from ``textclean_client.params``; these tests catch a copy
that drifts (a range written by hand, a renamed flag). The editor plugins'
dialogs are checked against the same table by their own tests.
"""

import argparse

import pytest
from textclean import protocol
from textclean.cli import build_parser
from textclean.masks import MaskParams
from textclean_client import params as schema


def _cli_dests(command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[command]._actions if a.dest in schema.BY_NAME}


def _cli_accepts(p: schema.Param, value) -> bool:
    argv = ["clean", "page.png", "-o", "out.png"]
    argv += [p.flag] if p.kind is bool else [p.flag, str(value)]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        return False
    return getattr(args, p.name) == (not p.default if p.kind is bool else value)


def _protocol_accepts(p: schema.Param, value) -> bool:
    try:
        return protocol.parse_params({p.name: value}) == {p.name: value}
    except protocol.ProtocolError:
        return False


def _maskparams_accepts(p: schema.Param, value) -> bool:
    try:
        MaskParams(**{p.name: value}).validated()
    except ValueError:
        return False
    return True


def test_one_set_of_names_everywhere():
    names = set(schema.BY_NAME)
    assert set(protocol.PARAMS) == names
    assert set(_cli_dests("clean")) == names
    assert set(_cli_dests("mask")) == names - {"flat_fill"}  # masks are not inpainted
    assert set(MaskParams().to_dict()) == names - {"flat_fill"}
    assert {p.name: p.default for p in schema.PARAMS if p.name != "flat_fill"} == MaskParams().to_dict()


def _probes(p: schema.Param) -> list:
    if p.kind is bool:
        return [not p.default]
    if p.kind is int:
        return [
            int(p.lo) - 1,
            int(p.lo),
            int(p.lo) + 1,
            (int(p.lo) + int(p.hi)) // 2,
            int(p.hi) - 1,
            int(p.hi),
            int(p.hi) + 1,
        ]
    return [p.lo - 0.5, p.lo, p.lo + 1e-6, (p.lo + p.hi) / 2, p.hi - 1e-6, p.hi, p.hi + 0.5]


@pytest.mark.parametrize("p", schema.PARAMS, ids=lambda p: p.name)
def test_cli_and_protocol_accept_the_same_values(p):
    for value in _probes(p):
        expected = _in_range(p, value)
        assert _cli_accepts(p, value) == expected, (p.flag, value)
        assert _protocol_accepts(p, value) == expected, (p.name, value)
        if p.name != "flat_fill":
            assert _maskparams_accepts(p, value) == expected, (p.name, value)


def _in_range(p: schema.Param, value) -> bool:
    if p.kind is bool:
        return True
    return p.lo < value < p.hi if p.open_range else p.lo <= value <= p.hi


def test_the_old_flag_name_is_a_hidden_alias():
    args = build_parser().parse_args(["clean", "a.png", "-o", "b.png", "--dilate", "7"])
    assert args.grow == 7
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert "--dilate" not in sub.choices["clean"].format_help()
    assert "--grow" in sub.choices["clean"].format_help()


@pytest.mark.parametrize("p", schema.PARAMS, ids=lambda p: p.name)
def test_the_plugins_accept_the_same_values(p):
    # Both plugins build their parameters through the shared editor core; its dialogs take their
    # ranges from the same table.
    import textclean_editor as editor

    for value in _probes(p):
        if p.name == "threshold" and value == editor.MODEL_DEFAULT:
            continue  # the dialogs' "model default", which the core leaves out
        try:
            editor.params({p.name: value})
            accepted = True
        except editor.PluginError:
            accepted = False
        assert accepted == _in_range(p, value), (p.name, value)
    if p.name in editor.DIALOG_PARAMS:
        lo, hi, default = editor.dialog_range(p.name)
        assert (p.lo <= lo < hi <= p.hi) and (default == p.default or (p.default is None and default == lo))
