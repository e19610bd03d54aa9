"""Decoding images in a child process, so a web worker's memory never holds decoded pixels.

The web process only reads headers (probe.py). Everything that decodes (re-encoding an
upload, its thumbnail, a rendition) runs in a `python -I` child that limits its own address
space (RLIMIT_AS) and, per job, its CPU time, and is killed when a job takes longer than its
timeout. A malicious or broken file can then cost at most that child: the worker's memory
grows by the bytes sent and received, nothing more. One job at a time per worker process (a
lock), so concurrent requests cannot multiply the limit.

The child lives on between jobs (starting Python and Pillow costs ~0.15 s, a job on a small
image a few milliseconds) and is replaced after any failure, after a job that raised its
peak memory past RECYCLE_BYTES, and when the web process forked since it was started.

Protocol: a request is a 4-byte length, a JSON header and the image bytes, on the child's
stdin; the answer is a 4-byte length, a JSON header (with the lengths of the blobs) and the
blobs, on its stdout.
"""

import atexit
import contextlib
import json
import os
import resource
import selectors
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from . import encode
from .probe import Probe

# The folder holding this package: appended to the child's sys.path (after the standard
# library and site-packages, so nothing there can be shadowed) to import it without the app.
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
BOOTSTRAP = (
    "import sys, runpy; sys.path.append(sys.argv[1]); "
    "runpy.run_module('imaging.worker', run_name='__main__')"
)
# Largest header and blobs of one message: far above any image we accept or make.
MAX_HEADER_BYTES = 1024 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024 * 1024
# A child whose peak memory passed this is replaced after its job (peaks never go down).
RECYCLE_BYTES = 256 * 1024 * 1024
_one_at_a_time = threading.Lock()


class WorkerError(ValueError):
    """The child refused or failed; `reason` is one of: frames, memory, timeout, damaged."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _frame(header: dict, blobs: list[bytes]) -> bytes:
    """Return a message: the header (with the blob lengths) and the blobs."""
    header = {**header, "lengths": [len(blob) for blob in blobs]}
    encoded = json.dumps(header).encode()
    return struct.pack(">I", len(encoded)) + encoded + b"".join(blobs)


def _unframe(message: bytes) -> tuple[dict, list[bytes]]:
    """Return the header and the blobs of a message."""
    (length,) = struct.unpack_from(">I", message)
    header = json.loads(message[4 : 4 + length])
    blobs, pos = [], 4 + length
    for size in header.pop("lengths"):
        blobs.append(message[pos : pos + size])
        pos += size
    if pos != len(message):
        raise WorkerError("damaged", "answer of the wrong length")
    return header, blobs


def _read_message(read) -> bytes | None:
    """Return one whole message read with `read(n)` (exactly n bytes, or b"" at the end)."""
    prefix = read(4)
    if not prefix:
        return None
    (length,) = struct.unpack(">I", prefix)
    if length > MAX_HEADER_BYTES:
        raise ValueError("message header too long")
    encoded = read(length)
    total = sum(json.loads(encoded)["lengths"])
    if not 0 <= total <= MAX_MESSAGE_BYTES:
        raise ValueError("message too long")
    return prefix + encoded + read(total)


class _Child:
    """One running decoding child, owned by the process that started it."""

    def __init__(self, memory: int):
        self.memory = memory
        self.owner = os.getpid()
        # Its last words (a crash, MemoryError) are read from here when it dies.
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        command = [sys.executable, "-I", "-c", BOOTSTRAP, PACKAGE_PARENT, str(memory)]
        # A fixed command (this interpreter, our bootstrap); images go through the pipes.
        self.process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors
        )

    def ask(self, request: bytes, timeout: float) -> bytes:
        """Send one request and return the answer; raise TimeoutError or EOFError."""
        self.process.stdin.write(request)
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)

            def read(size: int) -> bytes:
                chunks, missing = [], size
                while missing:
                    left = deadline - time.monotonic()
                    if left <= 0 or not selector.select(left):
                        raise TimeoutError
                    chunk = os.read(fd, min(missing, 1 << 20))
                    if not chunk:
                        raise EOFError
                    chunks.append(chunk)
                    missing -= len(chunk)
                return b"".join(chunks)

            answer = _read_message(read)
        if answer is None:
            raise EOFError
        return answer

    def last_words(self) -> str:
        """Return the end of what the child wrote to stderr."""
        self.errors.seek(0)
        return self.errors.read()[-500:].decode(errors="replace")

    def stop(self) -> None:
        """End the child and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.errors):
            with contextlib.suppress(OSError):
                stream.close()


_child: _Child | None = None


def _running_child(memory: int) -> _Child:
    """Return this process's child, starting one when there is none (or not of ours)."""
    global _child
    if _child is not None and (
        _child.owner != os.getpid() or _child.memory != memory or _child.process.poll() is not None
    ):
        if _child.owner == os.getpid():
            _child.stop()
        # A child inherited through fork() belongs to the parent: leave it alone.
        _child = None
    if _child is None:
        _child = _Child(memory)
    return _child


def _retire_child() -> None:
    """Stop this process's child (after a failure, a big job, or at exit)."""
    global _child
    if _child is not None and _child.owner == os.getpid():
        _child.stop()
    _child = None


def _forget_inherited_child() -> None:
    """In a process just forked: let go of the parent's child without touching it.

    Our copies of its pipes are closed (so the parent's child still sees the end of its
    input when the parent goes), the Popen object is marked done (it is not ours to wait
    for), and the lock starts free, whatever another thread of the parent held at the fork.
    """
    global _child, _one_at_a_time
    inherited, _child = _child, None
    _one_at_a_time = threading.Lock()
    if inherited is None:
        return
    for stream in (inherited.process.stdin, inherited.process.stdout, inherited.errors):
        with contextlib.suppress(OSError):
            stream.close()
    inherited.process.returncode = 0


atexit.register(_retire_child)
os.register_at_fork(after_in_child=_forget_inherited_child)


def run(
    operation: str, data: bytes, params: dict, *, memory: int, timeout: float
) -> tuple[dict, list[bytes]]:
    """Run `operation` ("clean" or "render") on `data` in the child; return header and blobs.

    Raises WorkerError when the child refuses the image, runs out of memory or time, or dies.
    """
    request = _frame(
        {"operation": operation, "params": params, "seconds": max(1, int(timeout) + 1)}, [data]
    )
    with _one_at_a_time:
        child = _running_child(memory)
        try:
            header, blobs = _unframe(child.ask(request, timeout))
        except TimeoutError:
            _retire_child()
            raise WorkerError("timeout", f"more than {timeout} s") from None
        except (EOFError, OSError, ValueError, KeyError, struct.error):
            # It died, or answered nonsense (WorkerError is a ValueError too).
            words = child.last_words()
            _retire_child()
            reason = "memory" if "MemoryError" in words else "damaged"
            raise WorkerError(reason, words) from None
        if "error" in header or header.get("peak", 0) > RECYCLE_BYTES:
            _retire_child()
    if "error" in header:
        raise WorkerError(header["error"], header.get("detail", ""))
    return header, blobs


# --- The child --------------------------------------------------------------------------------


def _limit_memory(memory: int) -> None:
    """Limit this process's address space to `memory` bytes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _limit_cpu(seconds: int) -> None:
    """Let the coming job use `seconds` more of CPU time (SIGXCPU ends the process after)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = spent + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _work(header: dict, data: bytes) -> bytes:
    """Return the answer to one request (run in the child)."""
    params = header["params"]
    # Pillow's own bomb check, as a second line behind the budget checked before sending.
    Image.MAX_IMAGE_PIXELS = params["max_pixels"]
    _limit_cpu(header["seconds"])
    try:
        if header["operation"] == "clean":
            probe = Probe(**params["probe"])
            cleaned, width, height, thumb = encode.clean(
                data, probe, params["max_frames"], params["thumbnail_size"]
            )
            return _frame({"width": width, "height": height, "peak": _peak()}, [cleaned, thumb])
        if header["operation"] == "render":
            rendered = encode.render(
                data,
                params["format"],
                params["width"],
                params.get("height"),
                params.get("focal"),
                params.get("options", {}),
            )
            return _frame({"peak": _peak()}, [rendered])
        return _frame({"error": "damaged", "detail": "unknown operation"}, [])
    except encode.TooManyFrames as error:
        return _frame({"error": "frames", "detail": str(error)}, [])
    except MemoryError:
        return _frame({"error": "memory"}, [])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _frame({"error": "memory", "detail": "over MAX_IMAGE_PIXELS"}, [])
    except Exception as error:  # noqa: BLE001 (any decoder error means a damaged file)
        return _frame({"error": "damaged", "detail": f"{type(error).__name__}: {error}"}, [])


def _peak() -> int:
    """Return the peak resident memory of this process so far, in bytes.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over an exec, so a child
    started by a large process would report its parent's peak as its own.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def probe_params(probe: Probe) -> dict:
    """Return a probe as JSON-ready parameters for the child."""
    return asdict(probe)


def main() -> None:
    """Answer requests from stdin on stdout until stdin closes (the child's entry point)."""
    _limit_memory(int(sys.argv[-1]))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        request = _read_message(stdin.read)
        if request is None:
            break
        header, (data,) = _unframe(request)
        stdout.write(_work(header, data))
        stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
