"""The decoding child: kept between jobs, replaced when it failed, grew, or was inherited."""

import os

import pytest

from cms.services.imaging import probe, probe_params, worker
from tests.factories import image_bytes

MEMORY = 1024**3
TIMEOUT = 30


def clean(data: bytes) -> dict:
    """Re-encode an image in the child; return the answer's header."""
    params = {
        "probe": probe_params(probe(data)),
        "max_frames": 10,
        "thumbnail_size": 32,
        "max_pixels": 10_000_000,
    }
    header, _blobs = worker.run("clean", data, params, memory=MEMORY, timeout=TIMEOUT)
    return header


def child_pid() -> int:
    """Return the pid of this process's decoding child."""
    return worker._child.process.pid


@pytest.fixture(autouse=True)
def fresh_child():
    """Start and end each test without a child."""
    worker._retire_child()
    yield
    worker._retire_child()


def test_the_child_serves_several_jobs():
    data = image_bytes("PNG", size=(40, 30))
    assert clean(data)["width"] == 40
    first = child_pid()
    assert clean(image_bytes("JPEG", size=(20, 10)))["height"] == 10
    assert child_pid() == first


def test_a_refused_image_replaces_the_child():
    clean(image_bytes("PNG"))
    first = child_pid()
    data = bytearray(image_bytes("PNG"))
    start = data.index(b"IDAT") + 4
    data[start : start + 8] = b"\xff" * 8  # headers intact, pixel data broken
    with pytest.raises(worker.WorkerError):
        clean(bytes(data))
    assert worker._child is None
    clean(image_bytes("PNG"))
    assert child_pid() != first


def test_a_child_that_grew_is_replaced(monkeypatch):
    monkeypatch.setattr(worker, "RECYCLE_BYTES", 0)
    clean(image_bytes("PNG"))
    assert worker._child is None


def test_a_child_that_died_while_idle_is_replaced():
    clean(image_bytes("PNG"))
    worker._child.process.kill()
    worker._child.process.wait()
    assert clean(image_bytes("PNG"))["width"] == 64


def test_a_forked_process_starts_its_own_child_and_leaves_the_parents_alone():
    """gunicorn forks workers: a worker never talks to (or waits for) its parent's child."""
    clean(image_bytes("PNG"))
    parents = child_pid()
    pid = os.fork()
    if pid == 0:
        # The forked process: its own child, the parent's untouched.
        status = 1
        try:
            ok = worker._child is None and clean(image_bytes("PNG"))["width"] == 64
            status = 0 if ok and child_pid() != parents else 2
            worker._retire_child()
        finally:
            os._exit(status)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_pid() == parents
    assert clean(image_bytes("PNG"))["width"] == 64


def test_a_child_started_by_a_large_process_is_kept(monkeypatch):
    """The child's own peak decides, not its parent's (Linux keeps ru_maxrss over exec)."""
    ballast = bytearray(300 * 1024 * 1024)  # this process is now far over RECYCLE_BYTES
    ballast[::4096] = b"\1" * len(ballast[::4096])
    clean(image_bytes("PNG"))
    first = child_pid()
    clean(image_bytes("PNG"))
    assert child_pid() == first
    del ballast
