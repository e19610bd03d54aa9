"""Profile public pages in process: where an uncached request spends its time.

    python -m tests.benchmarks.profile_pages              # post and home on 2,000 posts
    PROFILE_PAGES=post,home,page50,last,tag,author,search PROFILE_REQUESTS=500 \\
        python -m tests.benchmarks.profile_pages      # or any path: PROFILE_PAGES=/feed

Seeds a temporary SQLite database (tests.benchmarks.seeding), switches the page cache off,
and for each page: times PROFILE_REQUESTS test-client requests without the profiler, lists
the SQL statements one request runs, then profiles the same number of requests with cProfile
and prints the top functions by cumulative and by own time, own time grouped by library, and
the cost of each request hook. The raw profiles go to build/profile-<page>.prof (snakeviz,
`python -m pstats`).
"""

import cProfile
import os
import pstats
import shutil
import tempfile
import time
import types
from collections import Counter

from flask_migrate import upgrade
from sqlalchemy import event

from cms import create_app
from cms.extensions import db
from tests.benchmarks import seeding
from tests.servers import ROOT

# Own time grouped by where the code lives: (label, substring of the file name).
AREAS = [
    ("templates (compiled Jinja code)", ".html"),
    ("jinja2 runtime", "/jinja2/"),
    ("markupsafe", "markupsafe"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("database driver (sqlite3/psycopg)", "sqlite3"),
    ("database driver (sqlite3/psycopg)", "psycopg"),
    ("werkzeug", "/werkzeug/"),
    ("flask", "/flask/"),
    ("babel / flask_babel", "babel"),
    ("flask_security / flask_login / flask_principal", "flask_security"),
    ("flask_security / flask_login / flask_principal", "flask_login"),
    ("flask_security / flask_login / flask_principal", "flask_principal"),
    ("flask_wtf / wtforms", "flask_wtf"),
    ("flask_wtf / wtforms", "wtforms"),
    ("flask_limiter / limits", "limit"),
    ("flask_caching / cachelib", "cach"),
    ("flask_compress / brotli / gzip", "compress"),
    ("cms", "/cms/"),
    ("python stdlib", "/lib/python3"),
]


def area_of(filename: str) -> str:
    if filename.startswith("<sqlalchemy"):
        return "sqlalchemy"
    if filename.startswith("<frozen") or filename == "<string>":
        return "python stdlib"
    for label, needle in AREAS:
        if needle in filename:
            return label
    if filename == "~":
        return "built-ins (C)"
    return "other: " + filename.rsplit("/", 2)[-2] if "/" in filename else filename


def grouped(stats: pstats.Stats, requests: int) -> list[tuple[str, float]]:
    """Return own time per area in ms per request, largest first."""
    totals = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        label = area_of(filename)
        if label == "built-ins (C)" and ("sqlite3" in name or "psycopg" in name):
            label = "database driver (sqlite3/psycopg)"
        totals[label] += tottime
    return [(label, seconds * 1000 / requests) for label, seconds in totals.most_common()]


def hooks(app) -> list:
    """Return every request hook, context processor and template global function of the app."""
    found = []
    for kind, table in (
        ("before_request", app.before_request_funcs),
        ("after_request", app.after_request_funcs),
        ("teardown_request", app.teardown_request_funcs),
        ("context_processor", app.template_context_processors),
        ("url_value_preprocessor", app.url_value_preprocessors),
    ):
        for blueprint, functions in table.items():
            for function in functions:
                found.append((f"{kind} [{blueprint or 'app'}]", function))
    for name, value in app.jinja_env.globals.items():
        # type(), not isinstance(): some globals are proxies that need a request to resolve.
        if type(value) is types.MethodType:
            value = value.__func__
        if type(value) is types.FunctionType:
            found.append((f"template global {name}", value))
    return found


def hook_costs(app, stats: pstats.Stats, requests: int) -> list[tuple[str, str, float, int]]:
    """Return (kind, function, cumulative ms per request, calls per request) for each hook."""
    index = {(f, line, name): row for (f, line, name), row in stats.stats.items()}
    rows = []
    for kind, function in hooks(app):
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        row = index.get((code.co_filename, code.co_firstlineno, code.co_name))
        if row is None:
            continue
        _cc, calls, _tt, cumulative, _callers = row
        label = f"{function.__module__}.{function.__qualname__}"
        rows.append((kind, label, cumulative * 1000 / requests, calls / requests))
    return sorted(rows, key=lambda r: -r[2])


def statements(client, path: str) -> list[tuple[str, float]]:
    """Return the SQL statements one request for `path` runs, each with its time in ms."""
    seen = []
    started = []

    def before(_conn, _cursor, _statement, _params, _context, _executemany):
        started.append(time.perf_counter())

    def after(_conn, _cursor, statement, _params, _context, _executemany):
        seen.append((" ".join(statement.split()), (time.perf_counter() - started.pop()) * 1000))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return seen


def main() -> None:
    posts = int(os.environ.get("PROFILE_POSTS") or 2000)
    requests = int(os.environ.get("PROFILE_REQUESTS") or 300)
    wanted = (os.environ.get("PROFILE_PAGES") or "post,home").split(",")
    lines = int(os.environ.get("PROFILE_LINES") or 30)
    folder = tempfile.mkdtemp(prefix="cms-profile-")
    os.environ["PAGE_CACHE"] = "off"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/profile.db",
            "INSTANCE_PATH": folder,
            "UPLOAD_FOLDER": f"{folder}/uploads",
            "PAGE_CACHE": "off",
        }
    )
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        found = seeding.seed(posts)
    # The search index (for the search page), when the CLI can build it: the bulk inserts
    # bypass the ORM's events that keep it.
    cms_group = app.cli.commands.get("cms")
    searched = any(name == "search" or name.startswith("/search") for name in wanted)
    if searched and cms_group is not None and "reindex" in getattr(cms_group, "commands", {}):
        print(app.test_cli_runner().invoke(args=["cms", "reindex"]).output.strip())
    paths = {
        "post": f"/posts/{found['post_slug']}",
        "home": "/",
        "page50": "/?page=50",
        "tag": f"/tags/{found['tag_slug']}",
        "author": f"/authors/{found['author_slug']}",
        "search": f"/search?q={found['search_word']}",
        "last": f"/?page={-(-found['visible_posts'] // app.config['POSTS_PER_PAGE'])}",
    }
    client = app.test_client()
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    for name in wanted:
        path = paths.get(name, name)
        status = client.get(path).status_code
        print(f"\n######## {name}: GET {path} -> {status}")
        for _ in range(20):
            client.get(path)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            client.get(path)
        wall = (time.perf_counter() - started) * 1000 / requests
        cpu = (time.process_time() - cpu) * 1000 / requests
        print(
            f"{cpu:.2f} ms CPU, {wall:.2f} ms wall per request (in process, no profiler, "
            f"{requests} requests)"
        )
        with app.app_context():
            sql = statements(client, path)
        took = Counter()
        for statement, ms in sql:
            took[statement] += ms
        print(
            f"\n{len(sql)} SQL statements per request, {sum(took.values()):.2f} ms in the "
            "driver (cursor.execute, one request; slowest first):"
        )
        counts = Counter(statement for statement, _ms in sql)
        for statement, ms in took.most_common():
            print(f"  {ms:8.2f} ms {counts[statement]}x {statement[:400]}")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            client.get(path)
        profile.disable()
        profile.dump_stats(out / f"profile-{name}.prof")
        stats = pstats.Stats(profile)
        total = sum(row[2] for row in stats.stats.values()) * 1000 / requests
        print(f"\nown time by area, ms per request (profiled total {total:.2f} ms):")
        for label, ms in grouped(stats, requests):
            if ms >= 0.01:
                print(f"  {ms:7.3f} ms {100 * ms / total:5.1f} %  {label}")
        print("\nrequest hooks, context processors, template globals (cumulative):")
        for kind, label, ms, calls in hook_costs(app, stats, requests):
            if ms < 0.01:
                continue
            print(f"  {ms:7.3f} ms {calls:5.1f} calls  {kind:<28} {label}")
        print(f"\ntop {lines} functions of the CMS (cms/ and its templates) by cumulative time:")
        stats.sort_stats("cumulative").print_stats(r"/cms/", lines)
        for order in ("cumulative", "tottime"):
            print(f"\ntop {lines} by {order}:")
            stats.sort_stats(order).print_stats(lines)
    print(f"profiles written to {out}/profile-*.prof")
    if os.environ.get("PROFILE_KEEP"):
        print(f"database kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
