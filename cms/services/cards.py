"""What the readers' pages show of posts, read as plain rows by statements built once.

A public page shows a post with its author, tags and featured image, and lists of other posts
the same way. Reading them as ORM objects (and building the visibility condition anew each
time) cost most of a page's time; here each statement is built once per process with bound
parameters (the clock among them), runs on the session's connection, and its rows become small
read-only objects with the attribute names the templates know from the models (`post.author.
name`, `post.tags[0].slug`, `post.social_image`), so the templates serve both.

Only what readers may see now is read: `Card.is_public` is always true.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, or_, select

from cms.models import File, Post, PostKind, Tag, User, post_tags
from cms.services.statements import execute
from cms.services.visibility import reader_now, visibility_rule

P = Post.__table__.c
U = User.__table__.c
F = File.__table__.c
T = Tag.__table__.c
PT = post_tags.c

NOW = bindparam("now", type_=Post.__table__.c.published_at.type)


def visible_now(kind: str = PostKind.POST):
    """Return the visibility rule (cms.services.visibility), the clock a `now` parameter."""
    return visibility_rule(P, kind, NOW)


@dataclass(frozen=True, slots=True)
class Person:
    """An author as readers see them."""

    id: int
    name: str
    slug: str | None
    bio: str


@dataclass(frozen=True, slots=True)
class TagRef:
    """A tag shown with a post."""

    id: int
    name: str
    slug: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Image:
    """A library file used as a featured image: what its <picture> and renditions need."""

    id: int
    stored_name: str
    content_type: str
    width: int | None
    height: int | None
    alt_text: str
    decorative: bool
    focal_x: float | None
    focal_y: float | None

    @property
    def is_image(self) -> bool:
        """Return whether browsers may show the file inline (as File.is_image)."""
        return self.content_type.startswith("image/")


@dataclass(slots=True)
class Card:
    """A visible post or page as lists, neighbours and the post page show it."""

    id: int
    kind: str
    title: str
    slug: str
    excerpt: str
    word_count: int
    published_at: datetime
    updated_at: datetime
    author_id: int
    social_image_id: int | None
    author: Person
    social_image: Image | None
    tags: list[TagRef] = field(default_factory=list)
    # The post page's own fields (left empty on the cards of a list).
    body_html: str = ""
    meta_title: str = ""
    meta_description: str = ""
    canonical_url: str = ""
    noindex: bool = False

    is_public = True

    @property
    def is_page(self) -> bool:
        """Return whether this is a standalone page rather than a post."""
        return self.kind == PostKind.PAGE

    @property
    def memo_key(self) -> tuple:
        """Return everything a card of this post shows (cms.public.fragments): its fields, its
        author, tags and image as they are now, and its reading time."""
        return (
            self.id, self.kind, self.title, self.slug, self.excerpt, self.published_at,
            self.updated_at, self.author, tuple(self.tags), self.social_image,
            reading_minutes(self.word_count),
        )  # fmt: skip

    def __str__(self) -> str:
        return self.title


# Words a reader reads in a minute (the usual figure for screen reading).
WORDS_PER_MINUTE = 230


def reading_minutes(words: int) -> int:
    """Return the minutes a reader needs for a text of so many words, at least 1."""
    return max(1, round(words / WORDS_PER_MINUTE))


CARD_COLUMNS = (
    P.id, P.kind, P.title, P.slug, P.excerpt, P.word_count, P.published_at, P.updated_at,
    P.author_id, P.social_image_id,
    U.display_name, U.email, U.slug, U.bio,
    F.stored_name, F.content_type, F.width, F.height, F.alt_text, F.decorative, F.focal_x,
    F.focal_y,
)  # fmt: skip
ITEM_COLUMNS = (P.body_html, P.meta_title, P.meta_description, P.canonical_url, P.noindex)
JOINED = Post.__table__.join(User.__table__, U.id == P.author_id).outerjoin(
    File.__table__, F.id == P.social_image_id
)

CARDS = select(*CARD_COLUMNS).select_from(JOINED).where(P.id.in_(bindparam("ids", expanding=True)))
ITEMS = {
    kind: select(*CARD_COLUMNS, *ITEM_COLUMNS)
    .select_from(JOINED)
    .where(visible_now(kind), P.slug == bindparam("slug"))
    .limit(1)
    for kind in (PostKind.POST, PostKind.PAGE)
}
TAGS = (
    select(PT.post_id, T.id, T.name, T.slug)
    .select_from(post_tags.join(Tag.__table__, T.id == PT.tag_id))
    .where(PT.post_id.in_(bindparam("ids", expanding=True)))
    .order_by(T.name)
)


TAG_BY_SLUG = select(T.id, T.name, T.slug, T.description).where(T.slug == bindparam("slug"))
PERSON = select(U.id, U.display_name, U.email, U.slug, U.bio)
PERSON_BY_SLUG = PERSON.where(U.slug == bindparam("key")).limit(1)
PERSON_BY_SLUG_OR_ID = PERSON.where(or_(U.slug == bindparam("key"), U.id == bindparam("id"))).limit(
    1
)


def _card(row, extra: tuple = ()) -> Card:
    (
        post_id, kind, title, slug, excerpt, word_count, published_at, updated_at, author_id,
        image_id, display_name, email, author_slug, bio,
        stored_name, content_type, width, height, alt_text, decorative, focal_x, focal_y,
    ) = row[: len(CARD_COLUMNS)]  # fmt: skip
    author = Person(author_id, display_name or email.split("@", 1)[0], author_slug, bio or "")
    image = None
    if image_id is not None and stored_name is not None:
        image = Image(
            image_id, stored_name, content_type, width, height, alt_text or "",
            bool(decorative), focal_x, focal_y,
        )  # fmt: skip
    card = Card(
        post_id, kind, title, slug, excerpt or "", word_count or 0, published_at, updated_at,
        author_id, image_id, author, image,
    )  # fmt: skip
    if extra:
        body_html, meta_title, meta_description, canonical_url, noindex = extra
        card.body_html = body_html or ""
        card.meta_title = meta_title or ""
        card.meta_description = meta_description or ""
        card.canonical_url = canonical_url or ""
        card.noindex = bool(noindex)
    return card


def _add_tags(cards: Iterable[Card]) -> None:
    by_id = {card.id: card for card in cards}
    if not by_id:
        return
    for post_id, tag_id, name, slug in execute(TAGS, ids=list(by_id)):
        by_id[post_id].tags.append(TagRef(tag_id, name, slug))


def load_cards(ids: list[int]) -> list[Card]:
    """Return the posts of these ids in this order, with author, tags and featured image."""
    if not ids:
        return []
    found = {row[0]: _card(row) for row in execute(CARDS, ids=list(ids))}
    cards = [found[i] for i in ids if i in found]
    _add_tags(cards)
    return cards


def load_tag(slug: str):
    """Return the tag of this slug (id, name, slug, description), or None."""
    return execute(TAG_BY_SLUG, slug=slug).first()


def load_person(key: str, number: int | None = None) -> Person | None:
    """Return the person whose slug is `key` (or whose id is `number`), or None."""
    if number is None:
        row = execute(PERSON_BY_SLUG, key=key).first()
    else:
        row = execute(PERSON_BY_SLUG_OR_ID, key=key, id=number).first()
    if row is None:
        return None
    person_id, display_name, email, slug, bio = row
    return Person(person_id, display_name or email.split("@", 1)[0], slug, bio or "")


def load_item(kind: str, slug: str, now: datetime | None = None) -> Card | None:
    """Return the post or page readers see now at this slug, with its body, or None."""
    row = execute(ITEMS[kind], slug=slug, now=now or reader_now()).first()
    if row is None:
        return None
    item = _card(row, tuple(row[len(CARD_COLUMNS) :]))
    _add_tags([item])
    return item
