"""Benchmark: the public pages served by gunicorn, loaded by wrk, beside a minimal Flask page.

    make bench                                   # 2,000 and 100,000 posts on SQLite
    BENCH_SIZES=2000 BENCH_SECONDS=3 make bench  # quicker
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/cms_bench make bench

For each database (SQLite always; PostgreSQL as well when BENCH_DATABASE_URL names a server:
databases "<name>_bench_<size>" are created there and dropped afterwards) and each size, the
database is migrated and seeded (tests.benchmarks.seeding), the search index rebuilt when the
CLI has `flask cms reindex`, and then:

- gunicorn (2 sync workers) serves the minimal "hello" app (tests.benchmarks.hello, 3.3 KB);
- gunicorn (2 sync workers) serves the CMS with PAGE_CACHE=off ("uncached": the page cache
  off, each worker keeping the drawn parts of pages by what they show, cms.public.fragments),
  then also with FRAGMENT_MEMO_MIB=0 ("cold": every part drawn for every request), then with
  PAGE_CACHE=on;
- wrk (one thread, BENCH_CONNECTIONS connections, BENCH_SECONDS seconds) loads each page
  after a warm-up; the workers' CPU time (utime + stime from /proc) before and after, divided
  by the requests wrk made, is the server CPU per request; VmRSS of each worker after the run.
- the hello page is loaded the same way right before each page, and each page's ratio is to
  that hello run: the machine's speed drifts by ±30 % over minutes, two runs seconds apart
  see the same machine.

Pages that answer 404 (a feature not there yet) are reported as "missing". Prints a table per
database and size and the issue's targets as PASS/FAIL; writes everything to build/bench.json.
Environment:
    BENCH_SIZES            posts per database, comma-separated ("2000,100000")
    BENCH_SECONDS          length of each wrk run (5); BENCH_WARMUP: warm-up run before (1)
    BENCH_CONNECTIONS      wrk's connections (4; one wrk thread)
    BENCH_REPEAT           wrk runs per page, the one with the median CPU counts (1)
    BENCH_DATABASE_URL     a PostgreSQL server to measure as well (its own databases)
    BENCH_DATABASES        which of them: "sqlite", "postgresql" or both (the default)
    BENCH_KEEP             keep the run's folder and PostgreSQL databases
    BENCH_ACCEPT_ENCODING  e.g. "gzip": sent by wrk (and the probes) to every server
"""

import contextlib
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tests.servers import BIN, ROOT, NoRedirect, children_of, free_port, fresh_database_url

WORKERS = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Targets of issue 12, as ratios to the hello page measured in the same run.
CACHED_RPS_MIN = 0.9
UNCACHED_CPU_MAX = {"post": 8, "home": 10, "page 50": 10, "search": 15}
SCALING_MAX = 1.10
RSS_MAX_MIB = 80
# The servers measured: the page cache off (drawn parts of pages kept per worker), the page
# cache off with nothing kept, the page cache on.
MODES = {
    "off": {"PAGE_CACHE": "off"},
    "cold": {"PAGE_CACHE": "off", "FRAGMENT_MEMO_MIB": "0"},
    "on": {"PAGE_CACHE": "on"},
}
# Seconds the first request of a page may take before the page is reported as timed out.
PROBE_TIMEOUT = int(os.environ.get("BENCH_PROBE_TIMEOUT") or 120)
# Pages slower than this (wrk made fewer requests) are measured one request at a time.
SEQUENTIAL_BELOW = 50
FEED_CANDIDATES = ("/feed", "/feed.atom", "/atom.xml", "/feed.xml", "/rss.xml", "/rss")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


class Gunicorn:
    """A gunicorn master with sync workers on a free loopback port."""

    def __init__(self, name: str, app: str, folder: Path, env: dict, ready_path: str = "/"):
        self.name = name
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.env = env
        self.ready_path = ready_path
        self.process = None

    def start(self, timeout: float = 60) -> "Gunicorn":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    BIN / "gunicorn",
                    "--workers",
                    str(WORKERS),
                    "--worker-class",
                    "sync",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--no-control-socket",
                    # Slow pages are measured, not killed (a request may take a minute).
                    "--timeout",
                    str(PROBE_TIMEOUT + 30),
                    self.app,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + self.ready_path, timeout=5).close()
                if len(self.workers()) == WORKERS:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def workers(self) -> list[int]:
        """Return the worker processes' ids (children of the master)."""
        master = self.process.pid
        found = []
        for children in Path(f"/proc/{master}/task").glob("*/children"):
            try:
                found += [int(pid) for pid in children.read_text().split()]
            except OSError:
                continue
        return sorted(found or children_of(master))

    def cpu(self) -> dict[int, float]:
        """Return CPU seconds (user + system) used so far by each worker."""
        used = {}
        for pid in self.workers():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            # Fields 14 and 15 of stat (utime, stime) are 11 and 12 after "pid (comm)".
            used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return used

    def rss_mib(self) -> list[float]:
        """Return each worker's resident memory in MiB."""
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            sizes.append(round(int(found.group(1)) / 1024, 1))
        return sizes

    def idle(self, quiet: float = 0.3, limit: float = 60) -> None:
        """Wait until the workers use no CPU for `quiet` seconds (requests left by wrk)."""
        deadline = time.monotonic() + limit
        last = sum(self.cpu().values())
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = sum(self.cpu().values())
            if now == last:
                return
            last = now

    def pss_mib(self) -> list[float]:
        """Return each worker's proportional set size in MiB (shared pages split between
        the processes sharing them; with `--preload` much lower than RSS)."""
        sizes = []
        for pid in self.workers():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
            if found:
                sizes.append(round(int(found.group(1)) / 1024, 1))
        return sizes

    def stop(self) -> None:
        """Stop the master and its workers; a worker stuck in a long query is killed."""
        if not self.process or self.process.poll() is not None:
            return
        workers = self.workers()
        # SIGINT: quick shutdown (SIGTERM would wait for running requests).
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in workers:
            # A worker inside a long C call (an SQLite query) handles no signal until it ends.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def probe(url: str) -> dict:
    """GET a URL once without following redirects: status, size and the caching headers."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url)
    if os.environ.get("BENCH_ACCEPT_ENCODING"):
        request.add_header("Accept-Encoding", os.environ["BENCH_ACCEPT_ENCODING"])
    try:
        response = opener.open(request, timeout=PROBE_TIMEOUT)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        body = response.read()
        headers = response.headers
    wanted = ("Cache-Control", "ETag", "Last-Modified", "Vary", "Content-Encoding", "Location")
    found = {name: headers[name] for name in wanted if headers[name] is not None}
    found["Set-Cookie"] = bool(headers.get_all("Set-Cookie"))
    return {"status": response.status, "bytes": len(body), "headers": found, "body": body}


def run_wrk(url: str, seconds: int) -> dict:
    """Load `url` with wrk and return what it reports."""
    command = ["wrk", "-t1", f"-c{_env_int('BENCH_CONNECTIONS', 4)}", f"-d{seconds}s"]
    command += ["--timeout", "10s"]
    if os.environ.get("BENCH_ACCEPT_ENCODING"):
        command += ["-H", f"Accept-Encoding: {os.environ['BENCH_ACCEPT_ENCODING']}"]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "requests": requests,
        "rps": rps,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "latency_ms": round(float(latency.group(1)) * scale[latency.group(2)], 3)
        if latency
        else None,
    }


def machine_busy() -> float:
    """Return the CPU seconds the whole machine has been busy (all CPUs, from /proc/stat)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def children_cpu() -> float:
    """Return the CPU seconds used by this process's finished children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_once(server: Gunicorn, url: str, seconds: int) -> dict:
    """Load one URL with wrk; add the workers' CPU per request and how busy the machine was.

    `other_cpus`: how many CPUs the rest of the machine kept busy meanwhile (neither the
    workers nor wrk); above about 0.2 the requests per second are depressed by other work.
    """
    before, busy, wrk_cpu = server.cpu(), machine_busy(), children_cpu()
    started = time.monotonic()
    result = run_wrk(url, seconds)
    after, busy, wrk_cpu = server.cpu(), machine_busy() - busy, children_cpu() - wrk_cpu
    elapsed = time.monotonic() - started
    if set(before) != set(after):
        result["note"] = "a worker was replaced during the run"
    used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    requests = max(result["requests"], 1)
    result["cpu_ms"] = round(used * 1000 / requests, 3)
    result["ok_ratio"] = round(1 - result["non_2xx_3xx"] / requests, 4)
    result["workers_cpus"] = round(used / elapsed, 2)
    result["wrk_cpus"] = round(wrk_cpu / elapsed, 2)
    result["other_cpus"] = round(max(0.0, busy - used - wrk_cpu) / elapsed, 2)
    return result


def measure(server: Gunicorn, path: str, seconds: int, warmup: int) -> dict:
    """Warm up, then load one page BENCH_REPEAT times; the run with the median CPU counts.

    Returns requests per second, CPU per request, the 2xx ratio and the machine's load; with
    several repeats also every run's CPU and rate (`repeats`).
    """
    url = server.url + path
    if warmup:
        run_wrk(url, warmup)
    runs = [measure_once(server, url, seconds) for _ in range(_env_int("BENCH_REPEAT", 1))]
    result = dict(sorted(runs, key=lambda run: run["cpu_ms"])[len(runs) // 2])
    if len(runs) > 1:
        result["repeats"] = [{"cpu_ms": run["cpu_ms"], "rps": run["rps"]} for run in runs]
        result["ok_ratio"] = min(run["ok_ratio"] for run in runs)
        result["socket_errors"] = sum(run["socket_errors"] for run in runs)
    return result


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `flask --app run ...` with the given environment."""
    return subprocess.run(
        [BIN / "flask", "--app", "run", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


def seed(env: dict, size: int) -> dict:
    """Migrate and seed (in a child process, configured exactly like the server)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.seeding", str(size)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    commands = flask(env, "cms", "--help").stdout
    if re.search(r"^\s+reindex\b", commands, re.MULTILINE):
        started = time.perf_counter()
        flask(env, "cms", "reindex")
        found["reindex_seconds"] = round(time.perf_counter() - started, 2)
    else:
        found["reindex_seconds"] = None
    return found


def html_pages(found: dict) -> list[tuple[str, str]]:
    """Return the (name, path) of the HTML pages measured on a seeded database."""
    per_page = _env_int("POSTS_PER_PAGE", 10)
    last = max(1, math.ceil(found["visible_posts"] / per_page))
    return [
        ("post", f"/posts/{found['post_slug']}"),
        ("home", "/"),
        ("page 50", "/?page=50"),
        ("last page", f"/?page={last}"),
        ("tag", f"/tags/{found['tag_slug']}"),
        ("author", f"/authors/{found['author_slug']}"),
        ("search", f"/search?q={found['search_word']}"),
    ]


def discover(server: Gunicorn, found: dict) -> list[tuple[str, str]]:
    """Return the (name, path) of every page to load; absent features keep a likely path."""
    pages = html_pages(found)
    feed = FEED_CANDIDATES[0]
    for candidate in FEED_CANDIDATES:
        if probe(server.url + candidate)["status"] == 200:
            feed = candidate
            break
    pages.append(("feed", feed))
    pages.append(("sitemap", "/sitemap.xml"))
    index = probe(server.url + "/sitemap.xml")
    shard = None
    if index["status"] == 200 and b"<sitemapindex" in index["body"]:
        locs = re.findall(rb"<loc>\s*([^<\s]+)\s*</loc>", index["body"])
        locs = [loc.decode() for loc in locs]
        posts = [loc for loc in locs if "post" in loc] or locs
        if posts:
            parts = urllib.parse.urlsplit(posts[0])
            shard = parts.path + (f"?{parts.query}" if parts.query else "")
    pages.append(("sitemap shard", shard or "/sitemap-posts-1.xml"))
    return pages


def sequential(server: Gunicorn, path: str, seconds: int) -> dict:
    """Measure a slow page one request at a time: the exact CPU of each request."""
    server.idle()
    before = sum(server.cpu().values())
    started = time.monotonic()
    count = 0
    # At least 3 requests and `seconds` long: CPU time is counted in ticks of 10 ms.
    while count < 3 or time.monotonic() - started < seconds:
        probe(server.url + path)
        count += 1
    elapsed = time.monotonic() - started
    used = sum(server.cpu().values()) - before
    return {
        "requests_sequential": count,
        "cpu_ms": round(used * 1000 / count, 3),
        "wall_ms": round(elapsed * 1000 / count, 1),
        "cpu_method": "sequential, one connection",
    }


def load_pages(server: Gunicorn, pages, seconds: int, warmup: int, hello: Gunicorn) -> dict:
    """Probe and load every page on one server; a page that times out restarts the server.

    Each page loaded by wrk is paired with a run of the hello page just before it (`hello`).
    """
    results = {}
    for name, path in pages:
        entry = {"path": path}
        try:
            started = time.monotonic()
            first = probe(server.url + path)
            entry["first_ms"] = round((time.monotonic() - started) * 1000, 1)
            if 200 <= first["status"] < 300:
                # The second request decides how to measure (the first may fill a cache).
                started = time.monotonic()
                first = probe(server.url + path)
                entry["second_ms"] = round((time.monotonic() - started) * 1000, 1)
        except TimeoutError:
            entry["state"] = f"timed out (> {PROBE_TIMEOUT} s)"
            server.stop()
            server.start()
        else:
            entry.update(status=first["status"], bytes=first["bytes"], headers=first["headers"])
            if first["status"] == 404:
                entry["state"] = "missing"
            elif not 200 <= first["status"] < 300:
                entry["state"] = f"answered {first['status']}"
            else:
                entry["state"] = "ok"
                slow = entry["second_ms"] > seconds * 1000 / 4
                if entry["second_ms"] > seconds * 1000:
                    # Far too slow for wrk: a few requests one after the other.
                    entry.update(requests=0, non_2xx_3xx=0, socket_errors=0, ok_ratio=1.0)
                    entry.update(sequential(server, path, seconds))
                    entry["rps"] = round(1000 / entry["wall_ms"], 2)
                else:
                    entry["hello"] = measure(hello, "/", seconds, warmup)
                    entry.update(measure(server, path, seconds, 0 if slow else warmup))
                    if entry["requests"] < SEQUENTIAL_BELOW:
                        # wrk leaves requests running when it stops: too many to ignore here.
                        entry.update(sequential(server, path, seconds))
                if entry["ok_ratio"] < 1 or entry["socket_errors"]:
                    entry["state"] = "errors under load"
        results[name] = entry
        print(f"    {server.name:<10} {name:<14} {_brief(entry)}", flush=True)
        server.idle()
    return results


def _brief(entry: dict) -> str:
    if "rps" not in entry:
        return entry["state"]
    return (
        f"{entry['rps']:>8.0f} req/s {entry['cpu_ms']:>7.2f} ms CPU/req  {entry['state']}"
        f"  (CPUs busy: workers {entry.get('workers_cpus')}, wrk {entry.get('wrk_cpus')}, "
        f"other {entry.get('other_cpus')})"
        + (f" [{entry['cpu_method']}]" if "cpu_method" in entry else "")
    )


def measure_hello(hello: Gunicorn, seconds: int, warmup: int) -> dict:
    result = measure(hello, "/", seconds, warmup)
    print(f"    hello      {'/':<14} {_brief({**result, 'state': 'ok'})}", flush=True)
    return result


def run_size(database: str, url: str, size: int, folder: Path, hello: Gunicorn) -> dict:
    """Seed one database with `size` posts and measure everything on it."""
    seconds = _env_int("BENCH_SECONDS", 5)
    warmup = _env_int("BENCH_WARMUP", 1)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECRET_KEY", "SECURITY_PASSWORD_SALT", "DATABASE_URL"))
        and key != "PAGE_CACHE"
    }
    env.update(
        DATABASE_URL=url,
        INSTANCE_PATH=str(folder / "instance"),
        UPLOAD_FOLDER=str(folder / "uploads"),
    )
    started = time.perf_counter()
    found = seed(env, size)
    print(
        f"  {database}, {size:,} posts: seeded in {time.perf_counter() - started:.1f} s "
        f"({found['visible_posts']:,} visible; search reindex: "
        f"{'not available' if found['reindex_seconds'] is None else found['reindex_seconds']})",
        flush=True,
    )
    hello_runs = [measure_hello(hello, seconds, warmup)]
    modes = {}
    rss = {}
    pss = {}
    pages = None
    for mode, settings in MODES.items():
        server = Gunicorn(f"cache-{mode}", "run:app", folder, {**env, **settings}, "/healthz")
        server.start()
        try:
            pages = pages or discover(server, found)
            modes[mode] = load_pages(server, pages, seconds, warmup, hello)
            rss[mode] = server.rss_mib()
            pss[mode] = server.pss_mib()
        finally:
            server.stop()
            keep_log(server.log, f"{database}-{size}-{server.name}")
        hello_runs.append(measure_hello(hello, seconds, warmup))
    hello_rss = hello.rss_mib()
    return {
        "database": database,
        "size": size,
        "seed": found,
        "hello": {
            "runs": hello_runs,
            "rps": round(sum(r["rps"] for r in hello_runs) / len(hello_runs), 1),
            "cpu_ms": round(sum(r["cpu_ms"] for r in hello_runs) / len(hello_runs), 4),
            "rss_mib": hello_rss,
        },
        "uncached": modes["off"],
        "cold": modes["cold"],
        "cached": modes["on"],
        "rss_mib": rss,
        "pss_mib": pss,
    }


def paired(entry: dict, hello: dict) -> dict:
    """Return the hello run to compare a page with: its own, else the size's average."""
    return entry.get("hello") or hello


def cpu_ratio(entry: dict, hello: dict) -> float:
    """Return the page's CPU per request over the hello page's."""
    return entry["cpu_ms"] / paired(entry, hello)["cpu_ms"]


def rps_ratio(entry: dict, hello: dict) -> float:
    """Return the page's requests per second over the hello page's."""
    return entry["rps"] / paired(entry, hello)["rps"]


def checks(runs: list[dict]) -> list[dict]:
    """Compare the figures with the issue's targets."""
    found = []

    def check(run, what, value, limit, passed):
        found.append(
            {
                "database": run["database"],
                "size": run["size"],
                "check": what,
                "value": value,
                "limit": limit,
                "result": "PASS" if passed else "FAIL",
            }
        )

    for run in runs:
        hello = run["hello"]
        for name, entry in run["cached"].items():
            if "rps" in entry:
                ratio = round(rps_ratio(entry, hello), 2)
                check(run, f"cached {name} req/s vs hello", ratio, f">= {CACHED_RPS_MIN}",
                      ratio >= CACHED_RPS_MIN)  # fmt: skip
        for name, limit in UNCACHED_CPU_MAX.items():
            entry = run["uncached"].get(name, {})
            if "cpu_ms" in entry:
                ratio = round(cpu_ratio(entry, hello), 1)
                check(run, f"uncached {name} CPU vs hello", ratio, f"<= {limit}", ratio <= limit)
            else:
                check(run, f"uncached {name} CPU vs hello", entry.get("state"), f"<= {limit}",
                      False)  # fmt: skip
        for mode in ("uncached", "cold", "cached"):
            for name, entry in run.get(mode, {}).items():
                if entry["state"] not in ("ok", "missing"):
                    check(run, f"{mode} {name} answers", entry["state"], "2xx only", False)
        for mode, sizes in run["rss_mib"].items():
            top = max(sizes)
            check(run, f"worker RSS MiB (cache {mode})", top, f"<= {RSS_MAX_MIB}",
                  top <= RSS_MAX_MIB)  # fmt: skip
    by_database = {}
    for run in runs:
        by_database.setdefault(run["database"], []).append(run)
    for database, group in by_database.items():
        if len(group) < 2:
            continue
        small = min(group, key=lambda r: r["size"])
        large = max(group, key=lambda r: r["size"])
        for name, entry in large["uncached"].items():
            base = small["uncached"].get(name, {})
            if "cpu_ms" in entry and "cpu_ms" in base:
                # Each against its own hello run, so drift of the machine cancels out.
                ratio = round(cpu_ratio(entry, large["hello"]) / cpu_ratio(base, small["hello"]), 2)
                found.append(
                    {
                        "database": database,
                        "size": f"{large['size']} vs {small['size']}",
                        "check": f"uncached {name} CPU, large vs small",
                        "value": ratio,
                        "limit": f"<= {SCALING_MAX}",
                        "result": "PASS" if ratio <= SCALING_MAX else "FAIL",
                    }
                )
    return found


def _cell(value, spec: str) -> str:
    """Format a number, or a dash of the same width when there is none."""
    if value is None:
        return "-".rjust(int(spec.split(".")[0]))
    return format(value, spec)


def print_table(run: dict) -> None:
    hello = run["hello"]
    print()
    print(
        f"== {run['database']}, {run['size']:,} posts ({run['seed']['visible_posts']:,} visible)"
        f" — hello: {hello['rps']:,.0f} req/s, {hello['cpu_ms']:.3f} ms CPU/req, "
        f"RSS {hello['rss_mib']} MiB; hello runs: "
        + ", ".join(f"{r['rps']:.0f}/s {r['cpu_ms']:.3f} ms" for r in hello["runs"])
    )
    head = (
        f"{'page':<14} {'cached r/s':>10} {'x hello':>7} {'cached ms':>9} "
        f"{'uncached ms':>11} {'x hello':>7} {'uncached r/s':>12} {'cold ms':>8} {'x hello':>7}"
        f"  {'state':<10} path"
    )
    print(head)
    print("-" * len(head))
    for name, off in run["uncached"].items():
        on = run["cached"].get(name, {})
        cold = run.get("cold", {}).get(name, {})
        cached_rps = on.get("rps")
        state = (
            off["state"]
            if off["state"] == on.get("state", off["state"])
            else (f"{off['state']}/{on.get('state')}")
        )
        print(
            f"{name:<14} {_cell(cached_rps, '10.0f')} "
            f"{_cell(cached_rps and round(rps_ratio(on, hello), 2), '7.2f')} "
            f"{_cell(on.get('cpu_ms'), '9.2f')} {_cell(off.get('cpu_ms'), '11.2f')} "
            f"{_cell(off.get('cpu_ms') and round(cpu_ratio(off, hello), 1), '7.1f')} "
            f"{_cell(off.get('rps'), '12.0f')} {_cell(cold.get('cpu_ms'), '8.2f')} "
            f"{_cell(cold.get('cpu_ms') and round(cpu_ratio(cold, hello), 1), '7.1f')}"
            f"  {state:<10} {off['path'][:60]}"
        )
    print("worker RSS MiB after the run: " + ", ".join(
        f"{mode} {run['rss_mib'][mode]} (PSS {run['pss_mib'][mode]})" for mode in run["rss_mib"]
    ))  # fmt: skip


def keep_log(log: Path, name: str) -> None:
    """Copy a server's log to build/bench-logs/ (the run's folder is removed at the end)."""
    target = ROOT / "build" / "bench-logs"
    target.mkdir(parents=True, exist_ok=True)
    if log.exists():
        shutil.copyfile(log, target / f"{name}.log")


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    """Run every database and size, print the tables and checks, write build/bench.json."""
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    sizes = [int(s) for s in (os.environ.get("BENCH_SIZES") or "2000,100000").split(",")]
    server_url = os.environ.get("BENCH_DATABASE_URL")
    default = "sqlite,postgresql" if server_url else "sqlite"
    wanted = (os.environ.get("BENCH_DATABASES") or default).split(",")
    if "postgresql" in wanted and not server_url:
        sys.exit("BENCH_DATABASES names postgresql: set BENCH_DATABASE_URL too")
    databases = [("sqlite", None)] if "sqlite" in wanted else []
    if "postgresql" in wanted:
        databases.append(("postgresql", server_url))
    keep = bool(os.environ.get("BENCH_KEEP"))
    top = Path(tempfile.mkdtemp(prefix="cms-bench-"))
    meta = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "changed_files": _git("status", "--porcelain").splitlines(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "wrk": f"-t1 -c{_env_int('BENCH_CONNECTIONS', 4)} -d{_env_int('BENCH_SECONDS', 5)}s",
        "warmup_seconds": _env_int("BENCH_WARMUP", 1),
        "repeat": _env_int("BENCH_REPEAT", 1),
        "accept_encoding": os.environ.get("BENCH_ACCEPT_ENCODING"),
        "workers": f"gunicorn, {WORKERS} sync workers",
    }
    print(
        f"commit {meta['commit'][:10]} ({len(meta['changed_files'])} files changed), "
        f"{meta['cpus']} CPUs, wrk {meta['wrk']}, folder {top}",
        flush=True,
    )
    hello = Gunicorn("hello", "tests.benchmarks.hello:app", top, dict(os.environ)).start()
    runs = []
    made = []
    failures = []
    try:
        for database, base_url in databases:
            for size in sizes:
                folder = top / f"{database}-{size}"
                folder.mkdir()
                if base_url:
                    url = fresh_database_url(base_url, folder, f"bench_{size}")
                    made.append(url)
                else:
                    url = f"sqlite:///{folder / 'bench.db'}"
                try:
                    runs.append(run_size(database, url, size, folder, hello))
                except Exception as error:  # report the sizes that ran
                    print(f"  {database}, {size:,} posts: FAILED: {error!r}", flush=True)
                    failures.append(f"{database} {size}: {error!r}")
    finally:
        hello.stop()
        if not keep:
            for url in made:
                _drop_database(url)
            shutil.rmtree(top, ignore_errors=True)
    for run in runs:
        print_table(run)
    results = checks(runs)
    print()
    for item in results:
        print(
            f"{item['result']}  {item['database']:<10} {str(item['size']):<16} "
            f"{item['check']:<40} {item['value']!s:>8}  (target {item['limit']})"
        )
    for failure in failures:
        results.append({"database": "-", "size": "-", "check": "run", "value": failure[:60],
                        "limit": "completes", "result": "FAIL"})  # fmt: skip
    failed = sum(item["result"] == "FAIL" for item in results)
    print(f"\n{len(results) - failed} passed, {failed} failed")
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "runs": runs, "checks": results}, indent=2))
    print(f"results written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
