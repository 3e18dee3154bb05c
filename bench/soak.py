"""Soak: 4 concurrent clients (both client paths) send 2,000 mixed requests to one real daemon.

    python bench/soak.py [--requests 2000] [--clients 4] [--max-minutes 12] [--json out.json]

The mix has ping during inference, cancel, and clients that vanish
mid-request. It is bounded in count and time and stops by itself. It
prints requests served, errors by code, p50/p95/p99 latency per operation,
and the daemon's RSS at start, peak and end, with the growth over the last
half of the run.
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
import threading
import time

import numpy as np
import textclean_client as tc
from textclean import protocol

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def page(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    img = np.full((h, w, 3), 235, np.uint8)
    for _ in range(max(1, h * w // 4000)):
        y, x = int(rng.integers(0, h - 12)), int(rng.integers(0, w - 30))
        img[y : y + 10, x : x + 2] = 10
        img[y + 4 : y + 6, x : x + 20] = 10
    return img


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter[str] = collections.Counter()
        self.served = 0
        self.lost: list[str] = []

    def ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.latency[op].append(seconds)
            self.served += 1

    def error(self, op: str, code: str) -> None:
        with self.lock:
            self.errors[f"{op}:{code}"] += 1
            self.served += 1


def client_loop(endpoint: str, transport: str, n: int, seed: int, stats: Stats, deadline: float) -> None:
    rng = np.random.default_rng(seed)
    client = tc.connect(endpoint, transport=transport, timeout=120)
    small, medium = page(240, 320, rng), page(900, 700, rng)
    images = {
        "small": tc.Image(320, 240, "RGB", "u8", small.tobytes()),
        "medium": tc.Image(700, 900, "RGB", "u8", medium.tobytes()),
    }
    hole = np.zeros((240, 320), np.uint8)
    hole[50:90, 60:200] = 255
    hole_img = tc.Image(320, 240, "GRAY", "u8", hole.tobytes())
    ops = ["ping", "status", "segment", "inpaint", "remove_text", "cancel", "vanish"]
    weights = [0.30, 0.08, 0.20, 0.18, 0.18, 0.04, 0.02]
    for _ in range(n):
        if time.time() > deadline:
            break
        op = str(rng.choice(ops, p=weights))
        size = "medium" if rng.random() < 0.2 else "small"
        t = time.perf_counter()
        try:
            if op == "ping":
                client.ping()
            elif op == "status":
                client.status()
            elif op == "segment":
                client.segment(images[size])
            elif op == "inpaint":
                client.inpaint(images["small"], hole_img)
            elif op == "remove_text":
                client.remove_text(images[size])
            elif op == "cancel":
                threading.Timer(0.05, client.cancel).start()
                try:
                    client.remove_text(images["medium"])
                except tc.Cancelled:
                    pass
            else:  # a client that sends work and disappears
                vanish(endpoint, medium)
            stats.ok(op, time.perf_counter() - t)
        except tc.DaemonError as exc:
            stats.error(op, exc.code)
        except tc.TextcleanError as exc:
            stats.error(op, exc.code)
            stats.lost.append(f"{op}: {exc}")
            client.close()
            client = tc.connect(endpoint, transport=transport, timeout=120)
    client.close()


def vanish(endpoint: str, image: np.ndarray) -> None:
    import zmq

    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    h, w = image.shape[:2]
    spec = {"width": w, "height": h, "layout": "RGB", "depth": "u8"}
    sock.send_multipart([protocol.pack({"id": 1, "op": "remove_text", "image": spec}), image.tobytes()])
    time.sleep(0.05)
    sock.close(0)


def pings_during_inference(endpoint: str, stats: Stats, stop: threading.Event) -> None:
    """A fifth, light client: ping latency while the others keep the worker busy."""
    with tc.connect(endpoint, transport="builtin", timeout=30) as c:
        while not stop.is_set():
            t = time.perf_counter()
            c.ping()
            stats.ok("ping (during inference)", time.perf_counter() - t)
            time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=12)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    state = tempfile.mkdtemp(prefix="textclean-soak-")
    env = {**os.environ, "TEXTCLEAN_STATE_DIR": state, "TEXTCLEAN_ENDPOINT": endpoint}
    cli = [sys.executable, "-m", "textclean.daemon"]
    subprocess.run([*cli, "start", "--device", "cpu"], env=env, check=True)
    pid = json.load(open(os.path.join(state, f"daemon-{endpoint.rsplit(':', 1)[1]}.pid")))["pid"]  # one per port
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    t0 = time.time()

    def sample() -> None:
        while not stop.is_set():
            rss.append((time.time() - t0, rss_mb(pid)))
            time.sleep(0.5)

    stats = Stats()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    pinger = threading.Thread(target=pings_during_inference, args=(endpoint, stats, stop), daemon=True)
    pinger.start()
    deadline = time.time() + 60 * args.max_minutes
    per_client = args.requests // args.clients
    threads = [
        threading.Thread(
            target=client_loop, args=(endpoint, ("pyzmq", "builtin")[i % 2], per_client, i, stats, deadline)
        )
        for i in range(args.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    pinger.join(10)
    sampler.join(5)
    elapsed = time.time() - t0
    alive = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True).returncode == 0
    subprocess.run([*cli, "stop"], env=env, capture_output=True)
    half = [m for t, m in rss if t >= elapsed / 2]
    slope = float(np.polyfit([t for t, _ in rss if t >= elapsed / 2], half, 1)[0]) * 60 if len(half) > 2 else 0.0
    report = {
        "requests": sum(len(v) for k, v in stats.latency.items() if k != "ping (during inference)")
        + sum(stats.errors.values()),
        "elapsed_s": round(elapsed, 1),
        "daemon_alive_at_end": alive,
        "errors": dict(stats.errors),
        "lost": stats.lost,
        "latency_ms": {
            op: {
                "n": len(v),
                "p50": 1000 * float(np.percentile(v, 50)),
                "p95": 1000 * float(np.percentile(v, 95)),
                "p99": 1000 * float(np.percentile(v, 99)),
            }
            for op, v in sorted(stats.latency.items())
        },
        "rss_mb": {
            "start": rss[0][1],
            "peak": max(m for _, m in rss),
            "end": rss[-1][1],
            "last_half_min": min(half),
            "last_half_max": max(half),
            "last_half_slope_mb_per_min": slope,
        },
    }
    print(f"{report['requests']} requests in {elapsed:.0f} s; daemon alive at the end: {alive}")
    print(f"errors by op:code: {report['errors'] or 'none'}; lost (client-side failures): {len(stats.lost)}")
    print(f"{'operation':26s} {'n':>6s} {'p50 ms':>9s} {'p95 ms':>9s} {'p99 ms':>9s}")
    for op, q in report["latency_ms"].items():
        print(f"{op:26s} {q['n']:6d} {q['p50']:9.1f} {q['p95']:9.1f} {q['p99']:9.1f}")
    r = report["rss_mb"]
    print(
        f"daemon RSS MB: start {r['start']:.0f}, peak {r['peak']:.0f}, end {r['end']:.0f}; "
        f"last half {r['last_half_min']:.0f}..{r['last_half_max']:.0f}, "
        f"slope {r['last_half_slope_mb_per_min']:+.1f} MB/min"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
