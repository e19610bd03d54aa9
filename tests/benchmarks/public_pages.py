"""Quick benchmark: time the public pages in process on a database seeded with many posts.

    python -m tests.benchmarks.public_pages                    # 10,000 posts, temporary SQLite
    BENCH_POSTS=50000 python -m tests.benchmarks.public_pages
    DATABASE_URL=postgresql+psycopg://... python -m tests.benchmarks.public_pages  # EMPTY db

Prints the median and 95th percentile per page over BENCH_REQUESTS requests made in process
with Flask's test client (no network, no server): the cost of our code and queries alone.
`make bench` (tests.benchmarks.http_pages) is the full measurement through gunicorn and wrk.
"""

import os
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import select

from cms import create_app
from cms.extensions import db
from cms.models import Post, PostStatus, Tag, User
from tests.benchmarks.seeding import seed


def main() -> None:
    """Seed, warm up, measure and print one line per page."""
    posts = int(os.environ.get("BENCH_POSTS", "10000"))
    requests = int(os.environ.get("BENCH_REQUESTS", "300"))
    folder = tempfile.mkdtemp(prefix="cms-bench-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    # Our code and queries, not the page cache (PAGE_CACHE=on measures the cached path).
    cache = os.environ.get("PAGE_CACHE") or "off"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": folder,
            "UPLOAD_FOLDER": folder,
            "PAGE_CACHE": cache,
        }
    )
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        started = time.perf_counter()
        seed(posts)
        print(
            f"seeded {posts} posts in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})"
        )
        published = PostStatus.PUBLISHED
        slug = db.session.scalar(select(Post.slug).where(Post.status == published).limit(1))
        tag = db.session.scalar(select(Tag.slug).limit(1))
        author = db.session.scalar(select(User.slug).join(Post.author).limit(1))
    pages = ["/", "/?page=50", f"/posts/{slug}", f"/tags/{tag}", f"/authors/{author}"]
    client = app.test_client()
    print(f"{'page':<40} {'median ms':>10} {'p95 ms':>8}")
    for page in pages:
        assert client.get(page).status_code == 200, page
        times = []
        for _ in range(requests):
            begin = time.perf_counter()
            client.get(page)
            times.append((time.perf_counter() - begin) * 1000)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{page[:40]:<40} {statistics.median(times):>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
