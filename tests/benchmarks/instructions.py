"""Benchmark: instructions per request of each public page, on 2,000 and 100,000 posts.

    make bench-instructions                       # 2,000 and 100,000 posts on SQLite
    BENCH_SIZES=2000 make bench-instructions      # quicker

CPU time per request (`make bench`) varies by about 30 % from one run to the next on a shared
machine, which hides a 10 % difference between two archive sizes. Instructions do not: each
page runs in its own process under valgrind's callgrind, which counts the instructions the
app executes for N requests (the WSGI app called directly with a prepared environ, after a
warm-up; the counting is switched on only around those requests), the same count whatever
else the machine is doing. The minimal "hello" Flask app is counted the same way.

The databases are migrated and seeded like `make bench` (tests.benchmarks.seeding), with the
page cache off ("uncached", the parts of pages kept per worker as in production). Prints
millions of instructions per request per size and the ratio of the largest size to the
smallest (issue 12: within 10 %); writes build/instructions.json. (The server's own work,
gunicorn's, is not counted, so these are no ratios to compare with `make bench`'s.)
Environment: BENCH_SIZES, BENCH_REQUESTS (30), BENCH_KEEP.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from tests.benchmarks.http_pages import html_pages, seed
from tests.servers import ROOT

SCALING_MAX = 1.10
# Run in a child under valgrind: build the app, warm the page up, count N requests.
CHILD = """
import json, os, subprocess, sys
from werkzeug.test import EnvironBuilder
path, requests = sys.argv[1], int(sys.argv[2])
if path == "hello":
    from tests.benchmarks.hello import app
    path = "/"
else:
    from run import app
def call(environ):
    status = []
    body = app(environ, lambda s, h, e=None: status.append(s))
    data = b"".join(body)
    getattr(body, "close", lambda: None)()
    assert status[0].startswith("200"), (path, status)
    return data
builder = EnvironBuilder(path=path.split("?")[0], query_string=path.partition("?")[2],
                         base_url="http://127.0.0.1:8000")
for _ in range(20):
    call(builder.get_environ())
environs = [builder.get_environ() for _ in range(requests)]
switch = ["callgrind_control", "--instr=on", str(os.getpid())]
subprocess.run(switch, check=True, capture_output=True)
for environ in environs:
    call(environ)
switch[1] = "--instr=off"
subprocess.run(switch, check=True, capture_output=True)
"""


def pages(found: dict) -> list[tuple[str, str]]:
    return [*html_pages(found), ("feed", "/feed"), ("sitemap", "/sitemap.xml")]


def count(env: dict, path: str, requests: int, folder: Path) -> float:
    """Return the millions of instructions one request of `path` executes."""
    out = folder / f"callgrind.{abs(hash(path))}"
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-c",
            CHILD,
            path,
            str(requests),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise RuntimeError(f"{path}: {done.stderr[-2000:]}")
    return int(collected.group(1)) / requests / 1e6


def main() -> None:
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    sizes = [int(s) for s in (os.environ.get("BENCH_SIZES") or "2000,100000").split(",")]
    requests = int(os.environ.get("BENCH_REQUESTS") or 30)
    top = Path(tempfile.mkdtemp(prefix="cms-instructions-"))
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECRET_KEY", "SECURITY_PASSWORD_SALT", "DATABASE_URL"))
        and key not in ("PAGE_CACHE", "REDIS_URL")
    }
    # The same hashing in every run, so the same instructions.
    base.update(PYTHONHASHSEED="0", PAGE_CACHE="off")
    results = {"requests": requests, "sizes": {}}
    try:
        hello = count(base, "hello", requests, top)
        results["hello"] = round(hello, 3)
        for size in sizes:
            folder = top / str(size)
            folder.mkdir()
            env = dict(
                base,
                DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
                INSTANCE_PATH=str(folder / "instance"),
                UPLOAD_FOLDER=str(folder / "uploads"),
            )
            started = time.perf_counter()
            found = seed(env, size)
            print(f"{size:,} posts seeded in {time.perf_counter() - started:.0f} s", flush=True)
            listed = pages(found)
            measure = partial(count, env, requests=requests, folder=folder)
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                values = pool.map(measure, [path for _, path in listed])
                counted = dict(zip([name for name, _ in listed], values, strict=True))
            results["sizes"][size] = {name: round(value, 3) for name, value in counted.items()}
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(top, ignore_errors=True)
    report(results, sizes)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "instructions.json").write_text(json.dumps(results, indent=2))


def report(results: dict, sizes: list[int]) -> None:
    small, large = min(sizes), max(sizes)
    header = " · ".join(f"{size:,}" for size in sizes)
    print(f"\nmillions of instructions per request, the app alone ({results['requests']} each)")
    print(f"hello (minimal Flask): {results['hello']}")
    print(f"{'page':<12} {header:>22} {'largest/smallest':>18}")
    failed = 0
    for name in results["sizes"][small]:
        values = " · ".join(f"{results['sizes'][size][name]:.2f}" for size in sizes)
        ratio = results["sizes"][large][name] / results["sizes"][small][name]
        verdict = "ok" if ratio <= SCALING_MAX else "FAIL"
        failed += verdict != "ok"
        print(f"{name:<12} {values:>22} {ratio:>12.2f} {verdict}")
    if len(sizes) > 1:
        print(f"\n{failed} page(s) cost more than {SCALING_MAX:.2f}× at {large:,} posts")


if __name__ == "__main__":
    main()
