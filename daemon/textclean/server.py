"""The daemon's ZeroMQ server: a ROUTER socket, a fair queue and one inference worker.

The main thread owns the ROUTER socket: it answers ``hello``, ``ping``,
``status`` and ``cancel`` at once, checks every other request against the
schema (``protocol``) and queues it. One worker thread runs the pipeline and
hands its replies back through an inproc socket, so the main thread stays
responsive while a large page is processed and no ZeroMQ socket is ever
shared between threads. The queue takes clients in turn (round robin), so
one client's batch cannot starve another's single click.

This module deals in numpy arrays and the ``Pipeline``; it knows nothing
about tensors.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import zmq

from . import __version__, protocol
from .endpoints import CurveKeys, EndpointBusy, InsecureEndpoint, is_loopback  # noqa: F401 - re-exported
from .masks import MaskParams
from .pipeline import Cancelled, Pipeline
from .pixels import UnsupportedImage
from .protocol import ErrorCode, Limits, ProtocolError, Request

log = logging.getLogger("textclean.server")

MAX_QUEUED_PER_CLIENT = 8
MAX_QUEUED_TOTAL = 64
PROGRESS_INTERVAL_S = 0.1


@dataclass
class Job:
    identity: bytes
    request: Request
    frames: list
    cancel: threading.Event = field(default_factory=threading.Event)


class FairQueue:
    """Per-client FIFO queues served round robin."""

    def __init__(self) -> None:
        self._queues: collections.OrderedDict[bytes, collections.deque[Job]] = collections.OrderedDict()
        self._cond = threading.Condition()

    def __len__(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def count(self, identity: bytes) -> int:
        with self._cond:
            return len(self._queues.get(identity, ()))

    def put(self, job: Job) -> None:
        with self._cond:
            self._queues.setdefault(job.identity, collections.deque()).append(job)
            self._cond.notify()

    def get(self, timeout: float) -> Job | None:
        with self._cond:
            if not self._queues and not self._cond.wait(timeout):
                return None
            if not self._queues:
                return None
            identity, q = next(iter(self._queues.items()))
            job = q.popleft()
            del self._queues[identity]
            if q:  # back of the line for this client's next job
                self._queues[identity] = q
            return job

    def remove(self, identity: bytes, rid: Any) -> Job | None:
        with self._cond:
            q = self._queues.get(identity)
            for job in q or ():
                if job.request.id == rid:
                    q.remove(job)
                    if not q:
                        del self._queues[identity]
                    return job
        return None


#: The slowest transfer a peer may make and keep its connection (bytes/s).
SLOWEST_TRANSFER = 50_000_000


def heartbeat_timeout_ms(interval_ms: int, limits: Limits) -> int:
    """How long a silent peer is kept: three heartbeats, or the largest frame's transfer.

    libzmq restarts the timeout only when a whole frame has arrived, so a
    timeout shorter than one big frame's transfer drops a healthy client in
    the middle of its image (CI lost a 108 MB frame to a 1.5 s timeout).
    """
    return max(3 * interval_ms, -(-limits.max_message_bytes * 1000 // SLOWEST_TRANSFER))


class Server:
    """Serve ``pipeline`` on ``endpoint`` until ``stop()`` (or SIGTERM via the daemon CLI)."""

    def __init__(
        self,
        pipeline: Pipeline,
        endpoint: str = protocol.DEFAULT_ENDPOINT,
        limits: Limits | None = None,
        curve: CurveKeys | None = None,
        heartbeat_ms: int = 5000,
    ) -> None:
        if not is_loopback(endpoint) and curve is None:
            raise InsecureEndpoint(endpoint)
        self.pipeline = pipeline
        self.endpoint = endpoint
        self.limits = limits or Limits()
        self.curve = curve
        self.heartbeat_ms = heartbeat_ms
        self.started = time.time()
        self.served = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.last_error: str | None = None
        self._queue = FairQueue()
        self._running: Job | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._ctx = zmq.Context.instance()
        self._inproc = f"inproc://textclean-replies-{id(self)}"
        self._auth = None
        #: Set by the daemon CLI: returns why the log cannot be written, if it cannot.
        self.log_problem = None

    # ----------------------------------------------------------- lifecycle

    def _bind(self) -> zmq.Socket:
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, self.limits.max_message_bytes)
        sock.setsockopt(zmq.HEARTBEAT_IVL, self.heartbeat_ms)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, heartbeat_timeout_ms(self.heartbeat_ms, self.limits))
        sock.setsockopt(zmq.SNDHWM, 0)
        if self.curve:
            from zmq.auth.thread import ThreadAuthenticator

            self._auth = ThreadAuthenticator(self._ctx)
            self._auth.start()
            self._auth.configure_curve(domain="*", location=self.curve.clients_dir)
            sock.curve_server = True
            sock.curve_publickey = self.curve.public
            sock.curve_secretkey = self.curve.secret
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError as exc:
            sock.close(0)
            if self._auth:
                self._auth.stop()
            if exc.errno == zmq.EADDRINUSE:
                raise EndpointBusy(self.endpoint) from None
            raise
        return sock

    def stop(self) -> None:
        """Graceful: stop taking new work, finish what is queued and running, then return."""
        self._stop.set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def serve_forever(self) -> None:
        router = self._bind()
        replies = self._ctx.socket(zmq.PULL)
        replies.bind(self._inproc)
        worker = threading.Thread(target=self._work, name="textclean-worker", daemon=True)
        worker.start()
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(replies, zmq.POLLIN)
        self._ready.set()
        log.info("serving on %s (%s)", self.endpoint, self._model_info())
        try:
            while not (self._stop.is_set() and self._idle()):
                events = dict(poller.poll(100))
                if replies in events:
                    while True:
                        try:
                            router.send_multipart(replies.recv_multipart(zmq.NOBLOCK, copy=False), copy=False)
                        except zmq.Again:
                            break
                if router in events:
                    for _ in range(100):  # drain, but keep replies flowing
                        try:
                            message = router.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        try:
                            self._handle(router, message)
                        except Exception:  # the daemon survives any message
                            log.exception("unexpected error handling a message")
                            self._record_error(ErrorCode.INTERNAL, "unexpected error handling a message")
            while replies.poll(200):  # the last replies, sent as the worker went idle
                router.send_multipart(replies.recv_multipart(copy=False), copy=False)
        finally:
            self._stop.set()
            worker.join(timeout=5)
            replies.close(0)
            router.close(0)
            if self._auth:
                self._auth.stop()
            log.info("stopped after %d requests", self.served)

    def _idle(self) -> bool:
        return self._running is None and len(self._queue) == 0

    # ------------------------------------------------------------ requests

    def status(self) -> dict:
        info = self._model_info()
        return {
            "endpoint": self.endpoint,
            "pid": os.getpid(),
            "version": __version__,
            "protocol": protocol.PROTOCOL_VERSION,
            "device": info["device"],
            "backend": info["backend"],
            "models": info["models"],
            "trained": info["trained"],
            "uptime_s": round(time.time() - self.started, 1),
            "requests_served": self.served,
            "errors": dict(self.errors),
            "last_error": self.last_error,
            "queued": len(self._queue),
            "running": self._running.request.op if self._running else None,
            "max_pixels": self.limits.max_pixels,
            "max_message_bytes": self.limits.max_message_bytes,
            "log_error": self.log_problem() if self.log_problem else None,
        }

    def _model_info(self) -> dict:
        """Device, backend, model versions and whether they are trained: the one place the server asks."""
        return self.pipeline.info()

    def _record_error(self, code: str, message: str) -> None:
        self.errors[code] += 1
        self.last_error = f"{code}: {message}"

    def _handle(self, router: zmq.Socket, message: list) -> None:
        identity = message[0].bytes
        if len(message) < 2:
            return  # nothing to answer: not even a header
        rid, op = None, None
        try:
            header = protocol.unpack_header(message[1].buffer)
            rid, op = protocol.request_id(header), header.get("op")
            request = protocol.parse_request(header, len(message) - 2, self.limits)
        except ProtocolError as exc:
            self._record_error(exc.code, exc.message)
            self._send(router, identity, protocol.error_reply(rid, exc.code, exc.message, op))
            return
        if request.op == "ping":
            self._send(router, identity, protocol.ok_reply(rid, "ping", pong=True))
        elif request.op == "hello":
            self._send(
                router,
                identity,
                protocol.ok_reply(
                    rid,
                    "hello",
                    protocol=protocol.PROTOCOL_VERSION,
                    server=f"textclean {__version__}",
                    ops=list(protocol.OPS),
                    layouts=list(protocol.LAYOUTS),
                    depths=list(protocol.DEPTHS),
                    params=list(protocol.PARAMS),
                    max_pixels=self.limits.max_pixels,
                    max_message_bytes=self.limits.max_message_bytes,
                    device=self._model_info()["device"],
                ),
            )
        elif request.op == "status":
            self._send(router, identity, protocol.ok_reply(rid, "status", **self.status()))
        elif request.op == "cancel":
            self._send(
                router,
                identity,
                protocol.ok_reply(rid, "cancel", cancelled=self._cancel(router, identity, header["target"])),
            )
        else:
            self._enqueue(router, identity, request, message[2:])

    def _enqueue(self, router: zmq.Socket, identity: bytes, request: Request, frames: list) -> None:
        if self._stop.is_set():
            reason = "the daemon is shutting down"
        elif self._queue.count(identity) >= MAX_QUEUED_PER_CLIENT:
            reason = f"you already have {MAX_QUEUED_PER_CLIENT} requests queued"
        elif len(self._queue) >= MAX_QUEUED_TOTAL:
            reason = f"{MAX_QUEUED_TOTAL} requests are queued"
        else:
            self._queue.put(Job(identity, request, frames))
            return
        self._record_error(ErrorCode.BUSY, reason)
        self._send(router, identity, protocol.error_reply(request.id, ErrorCode.BUSY, reason, request.op))

    def _cancel(self, router: zmq.Socket, identity: bytes, target: Any) -> bool:
        job = self._queue.remove(identity, target)
        if job is not None:
            self._send(
                router,
                identity,
                protocol.error_reply(target, ErrorCode.CANCELLED, "cancelled before it ran", job.request.op),
            )
            return True
        running = self._running
        if running is not None and running.identity == identity and running.request.id == target:
            running.cancel.set()
            return True
        return False

    @staticmethod
    def _send(sock: zmq.Socket, identity: bytes, header: dict, frames: tuple = ()) -> None:
        try:
            sock.send_multipart([identity, protocol.pack(header), *frames], copy=False)
        except zmq.ZMQError as exc:  # unroutable or gone: the client left
            log.debug("reply dropped: %s", exc)

    # -------------------------------------------------------------- worker

    def _work(self) -> None:
        out = self._ctx.socket(zmq.PUSH)
        out.setsockopt(zmq.SNDHWM, 0)
        out.connect(self._inproc)
        try:
            while not (self._stop.is_set() and len(self._queue) == 0):
                job = self._queue.get(timeout=0.1)
                if job is None:
                    continue
                self._running = job
                try:
                    header, frames = self._run(job, out)
                except Exception as exc:  # the daemon survives anything a request does
                    header, frames = self._failure(job, exc), ()
                # Reply before going idle, so a graceful stop never drops this reply.
                self._send(out, job.identity, header, frames)
                self.served += 1
                self._running = None
        finally:
            out.close(0)

    def _failure(self, job: Job, exc: BaseException) -> dict:
        if isinstance(exc, ProtocolError):
            code, message = exc.code, exc.message
        elif isinstance(exc, Cancelled):
            code, message = ErrorCode.CANCELLED, "cancelled while running"
        elif isinstance(exc, UnsupportedImage):
            code, message = ErrorCode.UNSUPPORTED_FORMAT, str(exc)
        elif isinstance(exc, ValueError):
            code, message = ErrorCode.BAD_REQUEST, str(exc)
        elif isinstance(exc, MemoryError):
            code, message = ErrorCode.TOO_LARGE, "not enough memory for this image"
        else:
            code, message = ErrorCode.INTERNAL, f"{exc.__class__.__name__}: {exc}"
            log.error("request %r failed:\n%s", job.request.op, traceback.format_exc())
        if code != ErrorCode.CANCELLED:
            self._record_error(code, message)
        return protocol.error_reply(job.request.id, code, message, job.request.op)

    def _run(self, job: Job, out: zmq.Socket) -> tuple[dict, tuple]:
        req = job.request
        t0 = time.perf_counter()
        arrays = {}
        for (name, spec), frame in zip(req.images.items(), job.frames):
            arrays[name] = protocol.as_pipeline_array(protocol.decode_image(spec, frame.buffer), spec.layout)
        image_spec = req.images["image"]
        last = [0.0]

        def progress(fraction: float, stage: str) -> None:
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_INTERVAL_S or fraction >= 1.0:
                last[0] = now
                self._send(out, job.identity, protocol.progress_reply(req.id, req.op, fraction, stage))

        mask_params, flat_fill = MaskParams.from_request(req.params)
        cancel = job.cancel.is_set
        mask = cleaned = None
        t_compute = time.perf_counter()
        if req.op == "segment":
            mask = self.pipeline.segment(arrays["image"], arrays.get("region"), mask_params, progress, cancel)
        elif req.op == "remove_text":
            mask, cleaned = self.pipeline.remove_text(
                arrays["image"], arrays.get("region"), mask_params, flat_fill, progress, cancel
            )
        else:
            cleaned = self.pipeline.inpaint(arrays["image"], arrays["mask"], flat_fill, progress, cancel)
        # Pipeline time alone, so clients can tell transfer and codec overhead from the work.
        fields: dict = {"compute_ms": round(1000 * (time.perf_counter() - t_compute), 1)}
        frames: list[bytes] = []
        for name, array, layout, depth in (
            ("mask", mask, "GRAY", "u8"),
            ("image", cleaned, image_spec.layout, image_spec.depth),
        ):
            if array is not None:
                spec, data = protocol.encode_image(array, layout, depth)
                fields[name] = spec.to_dict()
                frames.append(data)
        fields["elapsed_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        return protocol.ok_reply(req.id, req.op, **fields), tuple(frames)
