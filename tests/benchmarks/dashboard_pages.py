"""Server time of the dashboard's pages at 2,000 and at 100,000 posts (1,000,000 revisions).

    make bench-dashboard
    BENCH_SIZES=2000 BENCH_REQUESTS=20 make bench-dashboard          # quicker
    BENCH_DATABASES=sqlite make bench-dashboard                       # one database only

For each database (SQLite, and PostgreSQL at BENCH_DATABASE_URL's server, in databases of
its own that are dropped afterwards) and each size: a fresh migrated database is seeded with
tests.benchmarks.seeding (Core bulk inserts), ten revisions a post plus one post with 500
revisions written by one INSERT ... SELECT (1,000,000 at 100,000 posts), and the full-text
index filled by SQL. An editor logs in through the real login form; each page is then asked
BENCH_REQUESTS times in process (the test client: no network) after a warm-up. Two figures:
the time from request to response (p50 and p95: what a person waits, but it grows with
whatever else the machine runs), and the CPU time per request of this process plus the
PostgreSQL backends serving it (read from /proc: what the request costs, whatever the load).
A page passes when its p95 at the largest size is under 150 ms and its CPU time is within
20 % of the same page's at the smallest size.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from cms import create_app
from cms.extensions import db
from cms.models import Post, User
from cms.services.accounts import create_account
from cms.services.roles import EDITOR
from tests.benchmarks import seeding
from tests.helpers import Browser, IsolatedClient
from tests.servers import fresh_database_url

PASSWORD = "bench-Password-1234"
REVISIONS_PER_POST = 10
BUSY_REVISIONS = 500
P95_MAX_MS = 150
SCALING_MAX = 1.20

SQLITE_REVISIONS = """
INSERT INTO revision (post_id, number, title, slug, body_md, excerpt, tags, status,
                      meta_title, meta_description, canonical_url, created_by_name,
                      created_at, event, note)
WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < :each)
SELECT p.id, n.n, p.title, p.slug, substr(p.body_md, 1, 400), '', '[]', p.status, '', '', '',
       'Editor', datetime(p.created_at, '+' || n.n || ' hours'), 'save', ''
FROM post AS p, n WHERE p.id <> :busy
"""
SQLITE_BUSY = """
INSERT INTO revision (post_id, number, title, slug, body_md, excerpt, tags, status,
                      meta_title, meta_description, canonical_url, created_by_name,
                      created_at, event, note)
WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < :count)
SELECT p.id, n.n, p.title, p.slug, p.body_md, '', '[]', p.status, '', '', '', 'Editor',
       datetime(p.created_at, '+' || n.n || ' minutes'), 'save', ''
FROM post AS p, n WHERE p.id = :busy
"""
PG_REVISIONS = """
INSERT INTO revision (post_id, number, title, slug, body_md, excerpt, tags, status,
                      meta_title, meta_description, canonical_url, created_by_name,
                      created_at, event, note)
SELECT p.id, n, p.title, p.slug, left(p.body_md, 400), '', '[]'::json, p.status, '', '', '',
       'Editor', p.created_at + n * INTERVAL '1 hour', 'save', ''
FROM post AS p CROSS JOIN generate_series(1, :each) AS n WHERE p.id <> :busy
"""
PG_BUSY = """
INSERT INTO revision (post_id, number, title, slug, body_md, excerpt, tags, status,
                      meta_title, meta_description, canonical_url, created_by_name,
                      created_at, event, note)
SELECT p.id, n, p.title, p.slug, p.body_md, '', '[]'::json, p.status, '', '', '', 'Editor',
       p.created_at + n * INTERVAL '1 minute', 'save', ''
FROM post AS p CROSS JOIN generate_series(1, :count) AS n WHERE p.id = :busy
"""
# The search index of the seeded posts, by SQL (the ORM events that keep it are bypassed).
NOT_INDEXED = "WHERE id NOT IN (SELECT post_id FROM search_document)"
SQLITE_INDEX = [
    "INSERT INTO search_fts (rowid, title, meta, body) SELECT id, title, excerpt, body_md "
    f"FROM post {NOT_INDEXED}",
    f"INSERT INTO search_document (post_id, body) SELECT id, '' FROM post {NOT_INDEXED}",
]
PG_INDEX = [
    "INSERT INTO search_document (post_id, body, vector) SELECT id, '', "
    "setweight(to_tsvector('english', title), 'A') || to_tsvector('english', body_md) "
    f"FROM post {NOT_INDEXED}"
]


def _env_int(name: str, default: int) -> int:
    """Return a whole number from the environment, or the default."""
    return int(os.environ.get(name) or default)


def seed(app, size: int) -> dict:
    """Seed posts, revisions and the search index; return the pages to measure."""
    started = time.perf_counter()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        seeding.seed(size)
        create_account("editor@example.org", PASSWORD, EDITOR, "Bench Editor")
        db.session.commit()
        postgres = db.engine.dialect.name == "postgresql"
        busy = db.session.scalar(
            select(Post.id).where(Post.kind == "post", Post.status == "draft").limit(1)
        )
        params = {"each": REVISIONS_PER_POST, "busy": busy, "count": BUSY_REVISIONS}
        # The demo content's own few revisions make way for the numbered ones below.
        db.session.execute(text("DELETE FROM revision"))
        db.session.execute(text(PG_REVISIONS if postgres else SQLITE_REVISIONS), params)
        db.session.execute(text(PG_BUSY if postgres else SQLITE_BUSY), params)
        for statement in PG_INDEX if postgres else SQLITE_INDEX:
            db.session.execute(text(statement))
        db.session.commit()
        with db.engine.connect() as conn:
            if postgres:
                # VACUUM too, as autovacuum would have done on a live site: it sets the
                # visibility map (index-only scans) and leaves autovacuum nothing to do while
                # the pages are measured.
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            else:
                conn.exec_driver_sql("ANALYZE")
        revisions = db.session.scalar(text("SELECT count(*) FROM revision"))
        author = db.session.scalar(select(User.id).where(User.email.like("%@example.org")))
        # A day near the end of the archive: 5 % of the posts are older.
        oldest = db.session.scalar(
            select(Post.updated_at)
            .where(Post.kind == "post", Post.status != "trashed")
            .order_by(Post.updated_at)
            .offset(size // 20)
            .limit(1)
        )
    day = str(oldest)[:10]
    print(
        f"  seeded {size:,} posts and {revisions:,} revisions in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return {
        "posts list": "/admin/posts/",
        "tab: drafts": "/admin/posts/?flt0_status_equals=draft",
        "tab: in review": "/admin/posts/?flt0_status_equals=review",
        "tab: scheduled": "/admin/posts/?flt0_status_equals=scheduled",
        "tab: published": "/admin/posts/?flt0_status_equals=published",
        "filter by author": f"/admin/posts/?flt0_author_equals={author}",
        "search": f"/admin/posts/?search={seeding.SEARCH_WORD}",
        "deep: jump to an old day": f"/admin/posts/?day={day}",
        "deep: older from there": ("older", f"/admin/posts/?day={day}"),
        "dashboard home": "/admin/",
        "history (500 revisions)": f"/admin/posts/history/{busy}/",
        "history, last page": f"/admin/posts/history/{busy}/?page=10",
    }


def older_of(browser, url: str) -> str:
    """Return the "Older" link of a list page."""
    page = browser.get(url).get_data(as_text=True)
    start = page.index('rel="next"')
    href = page.rindex('href="', 0, start) + len('href="')
    return page[href : page.index('"', href)].replace("&amp;", "&")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def database_cpu() -> float:
    """Return the CPU seconds of the PostgreSQL backends of this database (0 for SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return 0.0
    pids = db.session.scalars(
        text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_type = 'client backend'"
        )
    ).all()
    db.session.rollback()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def measure(app, pages: dict, requests: int) -> dict:
    """Log in as the editor and time each page; return {name: (p50, p95, CPU) in ms}."""
    client = app.test_client()
    browser = Browser(app, client)
    assert browser.login("editor@example.org", PASSWORD).status_code == 302, "login failed"
    found = {}
    for name, url in pages.items():
        if isinstance(url, tuple):
            url = older_of(browser, url[1])
        for _ in range(3):
            response = browser.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        times = []
        with app.app_context():
            cpu = time.process_time() + database_cpu()
        for _ in range(requests):
            started = time.perf_counter()
            browser.get(url)
            times.append((time.perf_counter() - started) * 1000)
        with app.app_context():
            cpu = (time.process_time() + database_cpu() - cpu) * 1000 / requests
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        found[name] = (statistics.median(times), p95, cpu)
    return found


def run(database: str, size: int, folder: Path) -> dict:
    """Seed a fresh database of this kind and size and measure it."""
    if database == "postgresql":
        base = (
            os.environ.get("BENCH_DATABASE_URL")
            or "postgresql+psycopg://postgres@127.0.0.1:5432/cms_bench"
        )
        url = fresh_database_url(base, folder, f"dash_{size}")
    else:
        url = f"sqlite:///{folder / f'dash-{size}.db'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            # Its own instance folder: the page cache (on, as by default) keeps the dashboard's
            # chart there, and a run must not find the one of another size.
            "INSTANCE_PATH": str(folder / f"instance-{database}-{size}"),
            "UPLOAD_FOLDER": str(folder / f"uploads-{database}-{size}"),
            "RATELIMIT_ENABLED": False,
            "TWO_FACTOR_REQUIRED_ROLES": [],
        }
    )
    app.test_client_class = IsolatedClient
    try:
        pages = seed(app, size)
        return measure(app, pages, _env_int("BENCH_REQUESTS", 40))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if database == "postgresql" and not os.environ.get("BENCH_KEEP"):
            parsed = make_url(url)
            engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            engine.dispose()


def print_table(database: str, results: dict, sizes: list[int]) -> bool:
    """Print p50/p95 and CPU per page and size, and the verdict; return whether all pass."""
    small, large = sizes[0], sizes[-1]
    header = f"{'page':<26}" + "".join(f"{f'{size:,}: p50 / p95 / CPU':>28}" for size in sizes)
    print(f"\n{database}: server time per request, ms\n{header}   CPU ratio  ok")
    passed = True
    for name in results[small]:
        cells = "".join(
            "{:>28}".format("{:.1f} / {:.1f} / {:.1f}".format(*results[size][name]))
            for size in sizes
        )
        ratio = results[large][name][2] / max(results[small][name][2], 0.001)
        ok = results[large][name][1] < P95_MAX_MS and (len(sizes) == 1 or ratio <= SCALING_MAX)
        passed &= ok
        print(f"{name:<26}{cells}   {ratio:9.2f}  {'yes' if ok else 'NO'}")
    return passed


def main() -> None:
    """Run every database and size; exit 1 if a page misses its bound."""
    sizes = [int(size) for size in (os.environ.get("BENCH_SIZES") or "2000,100000").split(",")]
    databases = (os.environ.get("BENCH_DATABASES") or "sqlite,postgresql").split(",")
    folder = Path(tempfile.mkdtemp(prefix="cms-bench-dashboard-"))
    passed = True
    for database in databases:
        results = {}
        for size in sizes:
            print(f"{database}, {size:,} posts:", flush=True)
            results[size] = run(database, size, folder)
        passed &= print_table(database, results, sizes)
    if os.environ.get("BENCH_KEEP"):
        print(f"databases kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
