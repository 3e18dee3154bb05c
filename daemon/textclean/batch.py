"""Many pages on two cores: one thread decodes and encodes while the main thread runs the networks.

A batch run is a stream of :class:`Step` s. Each step is read (decoded) and
written (encoded, saved) on one background I/O thread, and worked on (the
networks) on the calling thread. While page *i* is worked on, the I/O thread
writes page *i-1* and reads page *i+1*: PNG/JPEG codecs, zlib and ONNX Runtime
release the GIL, so both cores stay busy. One thread does all the I/O, in
submission order, so outputs are written in the order of the steps and a
zip archive is only ever touched by one thread.

Memory stays bounded: one page read ahead, one being worked on, one result
waiting to be written.

Ctrl-C (``KeyboardInterrupt`` on the calling thread) stops the stream: the
read-ahead is dropped, the write in flight finishes (it is a finished page)
and the exception goes on to the caller. A second Ctrl-C while waiting for
that write sets :attr:`Stream.discard`, which a writer checks before it renames
its file into place, so the page is dropped instead. The I/O thread has always
stopped when :meth:`Stream.run` returns or raises: nothing is left writing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Report = Callable[["Step", "str | None"], None]


@dataclass
class Step:
    """One unit of a batch run: usually a page, sometimes a member copied as it is.

    ``read`` and ``write`` run on the I/O thread, ``work`` on the caller's. A missing ``read`` gives
    ``work`` None; a missing ``work`` passes the read value to ``write``. If any of them raises one
    of the stream's page errors, ``failed`` (I/O thread, in order, may write something in the
    page's place) gets the exception and returns the line to report.
    """

    name: str
    read: Callable[[], Any] | None = None
    work: Callable[[Any], Any] | None = None
    write: Callable[[Any], None] | None = None
    failed: Callable[[BaseException], str] | None = None
    page: bool = True  # counted by the progress line


class _Discarded:
    """The write was dropped by a second Ctrl-C."""


DISCARDED = _Discarded()


class Stream:
    """Runs steps with reading and writing overlapped with the work; see the module's docstring."""

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        self.errors = errors  # what a bad page raises: reported, and the stream goes on
        self.discard = threading.Event()

    def keep(self) -> bool:
        """For writers: False once a write in flight must not be renamed into place."""
        return not self.discard.is_set()

    def run(self, steps: Iterable[Step], report: Report) -> None:
        """Do every step; ``report(step, failure line or None)`` on this thread, in order, once each is written."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textclean-io")
        it = iter(steps)
        ahead: tuple[Step, Future] | None = None
        writing: tuple[Step, Future] | None = None
        try:
            ahead = self._read(pool, next(it, None))
            while ahead is not None:
                step, reading = ahead
                ahead = None
                ahead = self._read(pool, next(it, None))  # the next page decodes while this one is worked on
                value, error = self._outcome(reading)
                del reading
                if error is None and step.work is not None:
                    try:
                        value = step.work(value)
                    except self.errors as exc:
                        value, error = None, exc
                if writing is not None:  # at most one result waits for the I/O thread
                    self._report(writing, report)
                    writing = None
                writing = (step, pool.submit(self._write, step, value, error))
                del value
            if writing is not None:
                self._report(writing, report)
                writing = None
        except BaseException:
            if ahead is not None:
                ahead[1].cancel()
            self._settle(writing, report)
            raise
        finally:
            self._shutdown(pool)

    # ------------------------------------------------------------ internals

    def _read(self, pool: ThreadPoolExecutor, step: Step | None) -> tuple[Step, Future] | None:
        if step is None:
            return None
        if step.read is None:
            done: Future = Future()
            done.set_result(None)
            return step, done
        return step, pool.submit(step.read)

    def _outcome(self, reading: Future) -> tuple[Any, BaseException | None]:
        try:
            return reading.result(), None
        except self.errors as exc:
            return None, exc

    def _write(self, step: Step, value: Any, error: BaseException | None) -> str | None | _Discarded:
        """On the I/O thread: write the result, or let ``failed`` deal with the error."""
        if self.discard.is_set():
            return DISCARDED
        if error is None:
            try:
                if step.write is not None:
                    step.write(value)
                return None
            except self.errors as exc:
                error = exc
        if step.failed is None:
            raise error
        return step.failed(error)

    def _report(self, writing: tuple[Step, Future], report: Report) -> None:
        step, future = writing
        message = future.result()
        if message is not DISCARDED:
            report(step, message)

    def _settle(self, writing: tuple[Step, Future] | None, report: Report) -> None:
        """After Ctrl-C or an error: let the write in flight end, and report it if it was written."""
        if writing is None:
            return
        while True:
            try:
                writing[1].result()
                break
            except KeyboardInterrupt:
                self.discard.set()  # Ctrl-C again: drop that page rather than wait to save it
            except BaseException:  # noqa: BLE001 - the error that stopped the run is the one raised
                return
        if not self.discard.is_set():
            self._report(writing, report)

    def _shutdown(self, pool: ThreadPoolExecutor) -> None:
        """Stop the I/O thread; a read or write under way is one page, so this is short."""
        while True:
            try:
                pool.shutdown(wait=True, cancel_futures=True)
                return
            except KeyboardInterrupt:
                self.discard.set()
