"""Content for trying the CMS: a few demo posts, or many realistic ones for load."""

import random
from datetime import timedelta

from slugify import slugify
from sqlalchemy import func, insert, select

from cms.extensions import db
from cms.models import (
    NavItem,
    Post,
    PostKind,
    PostStatus,
    Revision,
    Tag,
    User,
    post_tags,
    utcnow,
)
from cms.services import search
from cms.services.accounts import create_account, generate_password
from cms.services.media_library import MediaLibrary
from cms.services.posts import prepare_for_save
from cms.services.rendering import make_excerpt, render_markdown
from cms.services.roles import AUTHOR

TOPICS = [
    "Python", "Flask", "Databases", "Security", "Design", "Writing", "Testing", "Performance",
    "Accessibility", "Deployment", "Markdown", "Typography", "Open Source", "Teamwork",
    "Caching", "Search", "Images", "Internationalisation", "APIs", "Migrations",
]  # fmt: skip
SUBJECTS = [
    "a content model", "the editor", "slow pages", "a migration", "your first deploy",
    "image uploads", "translations", "a release", "the database", "role-based access",
    "long articles", "a style guide", "feedback", "a code review", "the home page",
]  # fmt: skip
VERBS = [
    "Rethinking", "Notes on", "A field guide to", "What we learned from", "Ten questions about",
    "Living with", "Shipping", "Measuring", "Untangling", "Getting started with",
]  # fmt: skip
SENTENCES = [
    "Most of the work happens before anyone writes a line of code.",
    "We measured twice and were still surprised by the numbers.",
    "The simplest version that could possibly work turned out to be enough.",
    "Readers notice speed long before they notice design.",
    "Every shortcut taken here came back as a support ticket later.",
    "A good default saves more time than a clever option.",
    "The team agreed on a checklist and kept it short.",
    "Nothing replaces reading the logs on a quiet afternoon.",
    "Editors asked for fewer buttons, not more features.",
    "It is easier to delete a feature nobody uses than to explain it.",
    "We wrote the test first and it caught the bug the next week.",
    "Small pull requests were reviewed within the hour.",
    "The migration ran in under a minute on a copy of production.",
    "Translations exposed every string we had forgotten to wrap.",
    "Caching helped, but fixing the query helped more.",
]  # fmt: skip
AUTHOR_NAMES = [
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling",
    "Margaret Hamilton", "Guido Example", "Barbara Liskov",
]  # fmt: skip

DEMO_POSTS = [
    (
        "Welcome to your new CMS",
        "This site runs on a Python CMS built with **Flask-Admin**.\n\n"
        "## What you can do\n\n"
        "- Write posts in Markdown in the dashboard\n"
        "- Tag them and attach images from the file library\n"
        "- Publish when ready; drafts stay private\n\n"
        "Open the [dashboard](/admin/) to start writing.",
        ["Getting started"],
    ),
    (
        "Writing in Markdown",
        "Markdown keeps writing simple: `*emphasis*`, `**strong**`, [links](https://example.com),"
        " lists and headings.\n\n> The HTML is rendered once, when you save, and cleaned of "
        "anything unsafe.\n\n```python\nprint('hello, readers')\n```",
        ["Getting started", "Markdown"],
    ),
]
# Standalone pages, linked from the site's menu in this order.
DEMO_PAGES = [
    (
        "About",
        "This site is run with a Python CMS. Editors change this page in the dashboard under "
        "*Pages*; its place in the menu is set under *Navigation*.",
    ),
    (
        "Contact",
        "Write to us at [hello@example.com](mailto:hello@example.com).",
    ),
]


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(3, 6)))


def _body(rng: random.Random, topic: str) -> str:
    parts = [_paragraph(rng)]
    for section in range(rng.randint(1, 3)):
        parts.append(f"## {rng.choice(VERBS)} {topic.lower()}, part {section + 1}")
        parts.append(_paragraph(rng))
        if rng.random() < 0.4:
            parts.append("\n".join(f"- {s}" for s in rng.sample(SENTENCES, 3)))
        if rng.random() < 0.2:
            parts.append(f"> {rng.choice(SENTENCES)}")
    return "\n\n".join(parts)


def get_or_create_tags(names) -> list[Tag]:
    """Return Tag rows for `names`, creating the missing ones."""
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name, slug=slugify(name))
            db.session.add(existing[name])
    db.session.flush()
    return [existing[name] for name in names]


# Fields of a seeded post that its first revision repeats.
REVISION_COPY = ("title", "slug", "body_md", "excerpt", "status", "published_at", "author_id")


def create_demo_content(author: User) -> int:
    """Add the welcome posts and the About and Contact pages if there is no content yet.

    Return how many were added.
    """
    if db.session.scalar(select(func.count(Post.id))):
        return 0
    now = utcnow()
    for offset, (title, body, tag_names) in enumerate(DEMO_POSTS):
        post = Post(
            title=title,
            body_md=body,
            status=PostStatus.PUBLISHED,
            published_at=now - timedelta(minutes=offset + 1),
            author=author,
            tags=get_or_create_tags(tag_names),
        )
        prepare_for_save(post)
        db.session.add(post)
        db.session.flush()
    for position, (title, body) in enumerate(DEMO_PAGES, start=1):
        page = Post(
            kind=PostKind.PAGE,
            title=title,
            body_md=body,
            status=PostStatus.PUBLISHED,
            published_at=now,
            author=author,
        )
        prepare_for_save(page)
        db.session.add(page)
        db.session.add(NavItem(label=title, page=page, position=position * 10))
        db.session.flush()
    return len(DEMO_POSTS) + len(DEMO_PAGES)


def seed_posts(count: int, seed: int = 1, batch: int = 1000) -> int:
    """Insert `count` realistic posts with tags and authors; the same seed gives the same data.

    Rows go in with bulk inserts in batches so that 10,000 posts take seconds.
    """
    rng = random.Random(seed)  # noqa: S311  (repeatable demo data, not a secret)
    authors = []
    for name in AUTHOR_NAMES:
        email = slugify(name) + "@example.org"
        user = db.session.scalars(select(User).where(User.email == email)).first()
        authors.append(user or create_account(email, generate_password(), AUTHOR, name))
    tags = get_or_create_tags(TOPICS)
    taken = set(db.session.scalars(select(Post.slug)))
    now = utcnow()
    made = 0
    while made < count:
        rows, links = [], []
        for _ in range(min(batch, count - made)):
            topic = rng.choice(TOPICS)
            title = f"{rng.choice(VERBS)} {rng.choice(SUBJECTS)} in {topic}"
            slug, number = slugify(title), 2
            base = slug
            while slug in taken:
                slug, number = f"{base}-{number}", number + 1
            taken.add(slug)
            body = _body(rng, topic)
            html = render_markdown(body, library=MediaLibrary())
            roll = rng.random()
            status = PostStatus.DRAFT if roll < 0.1 else PostStatus.PUBLISHED
            published_at = None
            if status == PostStatus.PUBLISHED:
                # Mostly in the past two years; a few scheduled for the coming week.
                if roll > 0.98:
                    minutes = rng.randint(-7 * 24 * 60, -1)
                else:
                    minutes = rng.randint(1, 730 * 24 * 60)
                published_at = now - timedelta(minutes=minutes)
            created = (published_at or now) - timedelta(hours=rng.randint(1, 72))
            rows.append(
                {
                    "title": title,
                    "slug": slug,
                    "body_md": body,
                    "body_html": html,
                    "excerpt": make_excerpt(html),
                    "status": status.value,
                    "published_at": published_at,
                    "author_id": rng.choice(authors).id,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            links.append(rng.sample(tags, rng.randint(1, 3)))
        returning = insert(Post).returning(Post.id, sort_by_parameter_order=True)
        ids = db.session.scalars(returning, rows).all()
        db.session.execute(
            insert(post_tags),
            [
                {"post_id": pid, "tag_id": tag.id}
                for pid, chosen in zip(ids, links, strict=True)
                for tag in chosen
            ],
        )
        # Bulk inserts skip the ORM's revision recording: each post gets its first one here.
        db.session.execute(
            insert(Revision),
            [
                {
                    "post_id": pid,
                    "number": 1,
                    "tags": [{"id": tag.id, "name": tag.name} for tag in chosen],
                    "event": "import",
                    "note": "",
                    "created_by_name": "",
                    **{key: row[key] for key in REVISION_COPY},
                    "created_at": row["updated_at"],
                }
                for pid, row, chosen in zip(ids, rows, links, strict=True)
            ],
        )
        # Bulk inserts skip the session events that keep the search index: index them here.
        search.index_posts(db.session.connection(), ids)
        made += len(rows)
    return made
