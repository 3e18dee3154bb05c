"""Long fuzz of a real daemon: the test suite's property-based cases, 20,000 of them by default.

    python bench/fuzz.py [--cases 20000] [--json out.json]

Headers (random maps, wrong types, negative/zero/huge dimensions, strides
that do not match, frame counts that do not match, unknown ops), random
bytes, truncated and deeply nested msgpack, and ZMTP-level garbage on the
raw TCP socket. After every case the daemon must still answer ping.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from textclean import protocol  # noqa: E402

from tests.test_protocol_fuzz import frames, headers  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    import zmq

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"tcp://127.0.0.1:{port}"
    state = tempfile.mkdtemp(prefix="textclean-fuzz-")
    env = {**os.environ, "TEXTCLEAN_STATE_DIR": state, "TEXTCLEAN_ENDPOINT": endpoint}
    cli = [sys.executable, "-m", "textclean.daemon"]
    # Small limits, so that valid-looking requests stay cheap and "too large" is reachable.
    subprocess.run(
        [*cli, "start", "--device", "cpu", "--max-pixels", "4096", "--max-message-bytes", "1048576"],
        env=env,
        check=True,
    )
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[str] = []

    def exchange(parts: list[bytes]) -> dict | None:
        sock.send_multipart(parts)
        while sock.poll(20000):
            reply = protocol.unpack_header(sock.recv_multipart()[0])
            if reply.get("type") == "result":
                return reply
        return None

    def check_alive(case: str) -> None:
        reply = exchange([protocol.pack({"id": "alive", "op": "ping"})])
        if not (reply and reply.get("ok")):
            failures.append(f"no ping after {case}")
            raise SystemExit(f"the daemon stopped answering after {case}")

    def record(reply: dict | None, case: str) -> None:
        if reply is None:
            outcomes["no reply"] += 1
        else:
            outcomes["ok" if reply["ok"] else reply["error"]["code"]] += 1
            if not reply["ok"] and reply["error"]["code"] == "internal":
                failures.append(f"internal error on {case}: {reply['error']['message']}")
        check_alive(case)

    share = {"headers": 0.7, "bytes": 0.15, "zmtp": 0.1, "nested": 0.05}
    t0 = time.time()

    @settings(
        max_examples=int(args.cases * share["headers"]),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(header=headers, extra=frames)
    def header_cases(header, extra):
        record(exchange([msgpack.packb(header, use_bin_type=True), *extra]), "a fuzzed header")

    @settings(
        max_examples=int(args.cases * share["bytes"]),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(garbage=st.binary(min_size=1, max_size=300), extra=st.lists(st.binary(max_size=64), max_size=2))
    def byte_cases(garbage, extra):
        record(exchange([garbage, *extra]), "random bytes")

    @settings(
        max_examples=int(args.cases * share["zmtp"]),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(garbage=st.binary(min_size=1, max_size=600), greet=st.booleans())
    def zmtp_cases(garbage, greet):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            try:
                if greet:  # a valid greeting, then garbage where the handshake should be
                    s.sendall(b"\xff" + b"\0" * 8 + b"\x7f\x03\x01NULL" + b"\0" * 48)
                s.sendall(garbage)
                s.recv(64)
            except OSError:
                pass
        outcomes["zmtp garbage"] += 1
        check_alive("ZMTP garbage")

    @settings(
        max_examples=int(args.cases * share["nested"]),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(depth=st.integers(1, 20000), cut=st.integers(0, 40))
    def nested_cases(depth, cut):
        blob = b"\x81\xa1a" * depth + b"\xc0"
        record(exchange([blob[: max(1, len(blob) - cut)]]), "nested/truncated msgpack")

    for run in (header_cases, byte_cases, zmtp_cases, nested_cases):
        run()
    elapsed = time.time() - t0
    status = exchange([protocol.pack({"id": "s", "op": "status"})])
    subprocess.run([*cli, "stop"], env=env, capture_output=True)
    total = sum(outcomes.values())
    report = {
        "cases": total,
        "elapsed_s": round(elapsed, 1),
        "outcomes": dict(outcomes),
        "failures": failures,
        "daemon_errors_counted": status.get("errors") if status else None,
    }
    print(f"{total} cases in {elapsed:.0f} s; the daemon answered ping after every one")
    print(f"outcomes: {dict(outcomes)}")
    print(f"internal errors or lost pings: {len(failures)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
