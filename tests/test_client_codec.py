"""The plugins' built-in msgpack codec agrees with the msgpack package."""

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textclean_client import _msgpack

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=300),
        st.binary(max_size=300),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=20), st.dictionaries(st.text(max_size=10), inner, max_size=20)),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_round_trips_both_ways(value):
    ours = _msgpack.packb(value)
    assert msgpack.unpackb(ours, raw=False, strict_map_key=False) == value
    assert _msgpack.unpackb(msgpack.packb(value, use_bin_type=True)) == value


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_raises_only_msgpack_error(blob):
    try:
        _msgpack.unpackb(blob)
    except _msgpack.MsgpackError:
        pass


def test_deep_nesting_is_refused():
    with pytest.raises(_msgpack.MsgpackError):
        _msgpack.unpackb(b"\x91" * 200 + b"\xc0")
