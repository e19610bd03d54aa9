"""Prebuilt SELECTs run on the driver (cms.services.statements): the same rows as SQLAlchemy,
its events, its errors. On SQLite and PostgreSQL (TEST_DATABASE_URL)."""

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import DBAPIError

from cms.extensions import db
from cms.models import File, Post, PostKind, utcnow
from cms.services import cards, listing, navigation
from cms.services.media import store_upload
from cms.services.statements import execute
from tests.factories import image_bytes, make_post, make_tag, make_user


@pytest.fixture
def world(ctx):
    author = make_user(roles=("author",), display_name="Ann")
    news, tips = make_tag("News"), make_tag("Tips")
    image = store_upload(db.session, image_bytes("JPEG", size=(800, 600)), "p.jpg", author)
    image.focal_x, image.focal_y = 0.25, 0.75
    db.session.commit()
    posts = [
        make_post(
            author,
            title=f"Post {n}",
            published_at=utcnow() - timedelta(hours=n + 1),
            tags=[news] if n % 2 else [news, tips],
            social_image_id=image.id if n == 1 else None,
        )
        for n in range(6)
    ]
    return {"posts": posts, "author": author, "tags": (news, tips)}


def through_sqlalchemy(statement, **params) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(statement, params).all()]


@pytest.mark.parametrize("size", [1, 2, 5, 6])
def test_rows_are_what_sqlalchemy_returns(world, size):
    ids = [post.id for post in world["posts"]][:size]
    now = utcnow()
    for statement, params in (
        (cards.CARDS, {"ids": ids}),
        (cards.TAGS, {"ids": ids}),
        (cards.ITEMS[PostKind.POST], {"slug": world["posts"][1].slug, "now": now}),
        (listing.NEIGHBOURS, {"when": world["posts"][2].published_at, "key": ids[0], "now": now,
                              "upto": now}),
        (listing.PAGE_IDS["all", True], {"now": now, "limit": 3, "offset": 1}),
        (navigation.MENU, {"now": now}),
    ):  # fmt: skip
        found = execute(statement, **params)
        assert [tuple(row) for row in found] == through_sqlalchemy(statement, **params)
    # Types come back as SQLAlchemy converts them: datetimes, booleans, numbers.
    item = execute(cards.ITEMS[PostKind.POST], slug=world["posts"][1].slug, now=now).first()
    assert item.published_at == world["posts"][1].published_at
    assert item[cards.CARD_COLUMNS.index(File.__table__.c.decorative)] is False
    assert float(item[cards.CARD_COLUMNS.index(File.__table__.c.focal_x)]) == 0.25


def test_lists_of_any_length_and_the_named_columns(world):
    ids = [post.id for post in world["posts"]]
    # Lengths seen before and new ones, in any order: each its own SQL.
    for size in (3, 1, 3, 6, 2):
        found = execute(cards.TAGS, ids=ids[:size])
        assert {row.post_id for row in found} == set(ids[:size])
    assert execute(cards.CARDS, ids=[10**9]).all() == []
    assert execute(cards.CARDS, ids=[10**9]).first() is None
    counted = select(Post.id).where(Post.id.in_(bindparam("ids", expanding=True)))
    assert sorted(execute(counted, ids=ids[:2]).scalars()) == sorted(ids[:2])


def test_the_engine_events_see_the_statements(world):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        execute(cards.TAGS, ids=[world["posts"][0].id])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert any("post_tags" in statement for statement in seen)


def test_driver_errors_become_sqlalchemys(world):
    missing = (
        select(Post.id)
        .where(Post.id == bindparam("id"))
        .where(Post.title.op("NOT_AN_OPERATOR")("x"))
    )
    with pytest.raises(DBAPIError):
        execute(missing, id=1)
    db.session.rollback()
    # The session goes on working.
    assert execute(cards.TAGS, ids=[world["posts"][0].id])
