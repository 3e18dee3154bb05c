"""The daemon's overhead on a 1654×2339 RGB page, for both client paths.

    python bench/daemon_overhead.py [--repeats 3]

Overhead is everything but the pipeline's work: transfer, frame decode and
encode, queueing. The daemon reports its pipeline time (``compute_ms``) in
each reply; overhead = client wall time − compute_ms. The target is under
5% of the end-to-end time.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textclean_client as tc  # noqa: E402
from common import test_page  # noqa: E402
from textclean.backend import ModelRunner  # noqa: E402
from textclean.pipeline import Pipeline  # noqa: E402
from textclean.server import Server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    server = Server(Pipeline(ModelRunner("auto")), endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.wait_ready(30)
    page, _ = test_page()
    h, w = page.shape[:2]
    image = tc.Image(w, h, "RGB", "u8", page.tobytes())
    print(f"page {w}×{h} RGB u8 ({page.nbytes / 1e6:.1f} MB), remove_text, median of {args.repeats}")
    print(f"{'client path':10s} {'end to end ms':>14s} {'pipeline ms':>12s} {'overhead ms':>12s} {'overhead':>9s}")
    for transport in ("pyzmq", "builtin"):
        with tc.connect(endpoint, transport=transport, timeout=300) as client:
            client.remove_text(image)  # warm
            rows = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                reply, _ = client._call("remove_text", {"image": image.spec(), "params": {}}, (image.data,))
                wall = 1000 * (time.perf_counter() - t)
                rows.append((wall, reply["compute_ms"]))
            wall, compute = np.median([r[0] for r in rows]), np.median([r[1] for r in rows])
            over = np.median([r[0] - r[1] for r in rows])
            print(f"{transport:10s} {wall:14.1f} {compute:12.1f} {over:12.1f} {100 * over / wall:8.2f}%")
    server.stop()
    thread.join(30)


if __name__ == "__main__":
    main()
