"""Batch runs overlap I/O with the networks: order, bounded read-ahead, bad pages, Ctrl-C with a write pending."""

import signal
import threading
import time

import pytest
from PIL import Image
from textclean.batch import Step, Stream
from textclean.cli import main
from textclean.imagefiles import ImageFileError, read_image, write_image

from .helpers import page

WAIT = 20  # seconds: generous for a loaded 2-core machine; only reached when the behaviour is broken


class Log:
    """What happened, in order, from both threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, int, str]] = []

    def add(self, what: str, i: int) -> None:
        with self.lock:
            self.events.append((what, i, threading.current_thread().name))

    def of(self, what: str) -> list[int]:
        return [i for w, i, _ in self.events if w == what]


def _steps(n: int, log: Log, bad: int | None = None, work=None, write=None) -> list[Step]:
    def make(i: int) -> Step:
        def read() -> int:
            log.add("read", i)
            if i == bad:
                raise ImageFileError(f"{i}.png", "image data is truncated or damaged")
            time.sleep(0.01 * ((i * 7) % 3))  # uneven, so a wrong order would show
            return i

        def do(v: int) -> int:
            log.add("work", i)
            return work(i, v) if work else v * 10

        def put(v: int) -> None:
            assert v == i * 10
            log.add("write", i)
            if write:
                write(i)

        return Step(f"{i}.png", read, do, put, failed=lambda exc: f"skipped {exc}")

    return [make(i) for i in range(n)]


def test_outputs_are_written_in_order_on_one_background_thread():
    log, reported = Log(), []
    Stream((ImageFileError,)).run(_steps(8, log), lambda s, f: reported.append((s.name, f)))
    assert log.of("write") == list(range(8))
    assert reported == [(f"{i}.png", None) for i in range(8)]
    threads = {w: {t for ww, _, t in log.events if ww == w} for w in ("read", "work", "write")}
    assert threads["work"] == {threading.main_thread().name}
    assert len(threads["read"] | threads["write"]) == 1 and threads["read"].isdisjoint(threads["work"])


def test_the_next_page_is_read_while_this_one_is_worked_on():
    log = Log()
    next_read = [threading.Event() for _ in range(5)]

    def work(i: int, v: int) -> int:
        # Without overlap the next page is only read after this returns, and this wait times out.
        if i + 1 < 5:
            assert next_read[i + 1].wait(WAIT), f"page {i + 1} was not read while page {i} was worked on"
        return v * 10

    steps = _steps(5, log, work=work)
    for s, ev in zip(steps, next_read):
        s.read = (lambda r, e: lambda: (r(), e.set())[0])(s.read, ev)
    Stream((ImageFileError,)).run(steps, lambda s, f: None)
    assert log.of("write") == list(range(5))


def test_at_most_one_page_is_read_ahead():
    log = Log()

    def work(i: int, v: int) -> int:
        time.sleep(0.05)  # slow networks: a greedy reader would run far ahead now
        return v * 10

    Stream((ImageFileError,)).run(_steps(6, log, work=work), lambda s, f: None)
    for i in range(6):
        with log.lock:
            before = log.events[: log.events.index(("work", i, threading.main_thread().name))]
        assert max(j for w, j, _ in before if w == "read") <= i + 1


def test_a_bad_page_in_the_middle_is_reported_and_the_rest_go_on():
    log, reported = Log(), []
    Stream((ImageFileError,)).run(_steps(5, log, bad=2), lambda s, f: reported.append((s.name, f)))
    assert log.of("write") == [0, 1, 3, 4]
    assert 2 not in log.of("work")
    assert [name for name, _ in reported] == [f"{i}.png" for i in range(5)]
    assert [f is not None for _, f in reported] == [False, False, True, False, False]
    assert "2.png: image data is truncated" in reported[2][1]


def test_an_unexpected_error_stops_the_run_and_the_io_thread():
    def boom(i: int, v: int) -> int:
        if i == 2:
            raise RuntimeError("a bug")
        return v * 10

    with pytest.raises(RuntimeError, match="a bug"):
        Stream((ImageFileError,)).run(_steps(5, Log(), work=boom), lambda s, f: None)
    assert not [t for t in threading.enumerate() if t.name.startswith("textclean-io")]


def test_ctrl_c_lets_the_pending_write_finish_and_stops_cleanly():
    log, reported = Log(), []
    release = threading.Event()

    def slow_write(i: int) -> None:
        if i == 0:
            release.wait(WAIT)

    def work(i: int, v: int) -> int:
        if i == 1:
            threading.Timer(0.3, release.set).start()  # the write of page 0 is still in flight now
            raise KeyboardInterrupt
        return v * 10

    with pytest.raises(KeyboardInterrupt):
        Stream((ImageFileError,)).run(_steps(6, log, work=work, write=slow_write), lambda s, f: reported.append(s))
    assert log.of("write") == [0]  # finished, not cut off
    assert [s.name for s in reported] == ["0.png"]  # and counted as done
    assert log.of("work") == [0, 1]
    assert max(log.of("read")) <= 2  # the read-ahead stopped
    assert not [t for t in threading.enumerate() if t.name.startswith("textclean-io")]


@pytest.fixture
def ctrl_c():
    """SIGINT raises KeyboardInterrupt here even when the test run was started in the background,
    where it is ignored (as it is for the whole process)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_second_ctrl_c_discards_the_pending_write_and_leaves_no_file(tmp_path, ctrl_c):
    stream = Stream((ImageFileError,))
    in_write, release, reported = threading.Event(), threading.Event(), []
    image = page(64, 64)

    def keep() -> bool:
        in_write.set()
        release.wait(WAIT)
        return stream.keep()

    def ctrl_c_twice() -> None:
        assert in_write.wait(WAIT)
        time.sleep(1.0)  # the main thread is waiting for the write by now
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.3)
        release.set()

    def work(i: int, v):
        if i == 1:
            threading.Thread(target=ctrl_c_twice, daemon=True).start()
            raise KeyboardInterrupt
        return v

    steps = [
        Step(
            f"{i}.png",
            read=lambda: image,
            work=lambda v, i=i: work(i, v),
            write=lambda v, i=i: write_image(tmp_path / f"{i}.png", v, keep=keep),
            failed=str,
        )
        for i in range(3)
    ]
    with pytest.raises(KeyboardInterrupt):
        stream.run(steps, lambda s, f: reported.append(s))
    assert stream.discard.is_set()
    assert list(tmp_path.iterdir()) == []  # neither the page nor its temporary file
    assert reported == []


# ---------------------------------------------------------------- the CLI


def test_a_folder_with_a_bad_page_in_the_middle(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(5):
        Image.fromarray(page(120, 100, seed=i)).save(src / f"{i:03d}.png")
    (src / "002.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["clean", str(src), "-o", str(out), "--allow-untrained", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("skipped") == 1 and "002.png" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["000.png", "001.png", "003.png", "004.png"]
    for p in out.iterdir():
        assert read_image(p).shape == (120, 100, 3)
    progress = [line.rsplit(" ", 1)[1] for line in err.splitlines() if "pages/min" in line]
    assert progress == [f"{i:03d}.png" for i in range(5)]  # pages are done in the order given
    assert "1 of 5 page(s) failed" in err
