"""A fast seeder for the benchmarks: 100,000 realistic posts in seconds, not minutes.

`cms.services.seed.seed_posts` renders every body with the Markdown pipeline (about 1.5 ms a
post). Here a pool of bodies is rendered once and shared, and the rows go in with SQLAlchemy
core bulk inserts. What readers see stays realistic: authors with bios, 20 tags with
descriptions, 1-3 tags a post, publication times spread over eight years, some drafts,
scheduled, unpublished, trashed and `noindex` posts, featured images on about a third of the
posts, and the About and Contact pages in the menu. Revisions are left out (no public page
reads them).
"""

import io
import json
import random
import sys
import time
from datetime import timedelta

from flask_migrate import upgrade
from PIL import Image
from slugify import slugify
from sqlalchemy import func, insert, select, update

from cms import create_app
from cms.extensions import db
from cms.models import Post, PostStatus, Tag, User, post_tags, utcnow
from cms.services.accounts import create_account, ensure_roles, generate_password
from cms.services.media import store_upload
from cms.services.media_library import MediaLibrary
from cms.services.rendering import make_excerpt, render_markdown
from cms.services.roles import ADMIN, AUTHOR
from cms.services.seed import (
    AUTHOR_NAMES,
    SENTENCES,
    SUBJECTS,
    TOPICS,
    VERBS,
    _body,
    create_demo_content,
    get_or_create_tags,
)

# Distinct bodies rendered once; each post takes one of them.
BODY_POOL = 300
# Library images used as featured images (0: none).
IMAGES = 12
# The word the search benchmark looks for: in titles ("... in Caching") and bodies.
SEARCH_WORD = "caching"
YEARS = 8


def _image(rng: random.Random, number: int) -> bytes:
    """Return a small PNG with a colour gradient (a real image the library accepts)."""
    size = (1200, 800)
    base = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    image = Image.new("RGB", size, base)
    for x in range(0, size[0], 40):
        shade = tuple((c + x // 8 + number * 20) % 256 for c in base)
        image.paste(shade, (x, 0, x + 40, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _people(rng: random.Random) -> tuple[User, list[User]]:
    """Return the admin and the authors (with bios), created once."""
    ensure_roles()
    admin = create_account("admin@example.org", generate_password(), ADMIN, "Site Admin")
    authors = []
    for name in AUTHOR_NAMES:
        user = create_account(slugify(name) + "@example.org", generate_password(), AUTHOR, name)
        user.bio = " ".join(rng.sample(SENTENCES, 2))
        authors.append(user)
    db.session.flush()
    return admin, authors


def _bodies(rng: random.Random) -> list[tuple[str, str, str]]:
    """Return (markdown, html, excerpt) for BODY_POOL bodies, rendered with the real pipeline."""
    library = MediaLibrary()
    pool = []
    for _ in range(BODY_POOL):
        markdown = _body(rng, rng.choice(TOPICS))
        html = render_markdown(markdown, library=library)
        pool.append((markdown, html, make_excerpt(html)))
    return pool


def _status(rng: random.Random, now):
    """Return (status, published_at, unpublish_at, noindex) with a realistic mix."""
    roll = rng.random()
    published_at = now - timedelta(minutes=rng.randint(1, YEARS * 365 * 24 * 60))
    if roll < 0.05:
        return PostStatus.DRAFT.value, None, None, False
    if roll < 0.06:
        return PostStatus.REVIEW.value, None, None, False
    if roll < 0.08:
        return PostStatus.TRASHED.value, published_at, None, False
    if roll < 0.10:
        scheduled = now + timedelta(minutes=rng.randint(1, 30 * 24 * 60))
        return PostStatus.PUBLISHED.value, scheduled, None, False
    if roll < 0.11:
        return PostStatus.PUBLISHED.value, published_at, now - timedelta(days=1), False
    return PostStatus.PUBLISHED.value, published_at, None, roll > 0.99


def seed(count: int, seed_value: int = 1, batch: int = 5000, images: int = IMAGES) -> dict:
    """Fill an empty, migrated database; return what the benchmark needs to know."""
    rng = random.Random(seed_value)
    admin, authors = _people(rng)
    create_demo_content(admin)
    tags = get_or_create_tags(TOPICS)
    for tag in tags:
        tag.description = f"Everything we wrote about {tag.name}: " + rng.choice(SENTENCES)
    files = [
        store_upload(db.session, _image(rng, number), f"cover-{number}.png", admin)
        for number in range(images)
    ]
    db.session.flush()
    for number, record in enumerate(files):
        record.alt_text = f"Cover picture number {number + 1}"
    db.session.commit()
    file_ids = [record.id for record in files]
    pool = _bodies(rng)
    now = utcnow()
    made = 0
    connection = db.session.connection()
    while made < count:
        rows, links = [], []
        for _ in range(min(batch, count - made)):
            number = made + len(rows) + 1
            topic = rng.choice(TOPICS)
            title = f"{rng.choice(VERBS)} {rng.choice(SUBJECTS)} in {topic}"
            markdown, html, excerpt = rng.choice(pool)
            status, published_at, unpublish_at, noindex = _status(rng, now)
            # Written before its publication (a scheduled post: before now), edited since.
            created = min(published_at or now, now) - timedelta(hours=rng.randint(1, 72))
            updated = min(created + timedelta(hours=rng.randint(0, 500)), now)
            rows.append(
                {
                    "title": title,
                    "slug": f"{slugify(title)}-{number}",
                    "body_md": markdown,
                    "body_html": html,
                    "excerpt": excerpt,
                    "status": status,
                    "published_at": published_at,
                    "unpublish_at": unpublish_at,
                    "noindex": noindex,
                    "social_image_id": (
                        rng.choice(file_ids) if file_ids and rng.random() < 0.35 else None
                    ),
                    "author_id": rng.choice(authors).id,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            chosen = {tags[TOPICS.index(topic)], *rng.sample(tags, rng.randint(0, 2))}
            links.append(chosen)
        returning = insert(Post.__table__).returning(
            Post.__table__.c.id, sort_by_parameter_order=True
        )
        ids = connection.execute(returning, rows).scalars().all()
        connection.execute(
            insert(post_tags),
            [
                {"post_id": pid, "tag_id": tag.id}
                for pid, chosen in zip(ids, links, strict=True)
                for tag in chosen
            ],
        )
        made += len(rows)
    db.session.execute(update(User).where(User.id == admin.id).values(bio=rng.choice(SENTENCES)))
    db.session.commit()
    return describe()


def describe() -> dict:
    """Return the URLs' ingredients: a visible post, a tag, the number of visible posts."""
    visible = (
        Post.kind == "post",
        Post.status == PostStatus.PUBLISHED.value,
        Post.published_at <= utcnow(),
        Post.unpublish_at.is_(None),
    )
    total = db.session.scalar(select(func.count(Post.id)).where(*visible))
    # A post from the middle of the archive (with tags and, if any, a featured image).
    middle = db.session.scalars(
        select(Post.slug)
        .where(*visible, Post.social_image_id.is_not(None))
        .order_by(Post.published_at.desc())
        .offset(total // 2 // 3)
        .limit(1)
    ).first() or db.session.scalar(select(Post.slug).where(*visible).limit(1))
    tag = db.session.scalar(select(Tag.slug).where(Tag.name == "Caching"))
    author = db.session.scalar(
        select(User.slug).where(User.email == slugify(AUTHOR_NAMES[0]) + "@example.org")
    )
    return {
        "visible_posts": total,
        "post_slug": middle,
        "tag_slug": tag,
        "author_slug": author,
        "search_word": SEARCH_WORD,
    }


def main() -> None:
    """Migrate and seed the database the environment names; print what `describe` returns.

    DATABASE_URL=... INSTANCE_PATH=... UPLOAD_FOLDER=... python -m tests.benchmarks.seeding N
    """
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    app = create_app()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        started = time.perf_counter()
        found = seed(count)
        found["seed_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
