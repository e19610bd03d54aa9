"""Parts of the readers' pages kept by what they show (cms.public.fragments): cards, the
header, the footer, a post's article and head. With the page cache off, every change shows
at once, because the key of a kept part holds the values it shows."""

import pytest
from sqlalchemy import update

from cms.extensions import db
from cms.models import NavItem, Post
from cms.models.content import count_words
from cms.public.fragments import EXTENSION
from cms.services.media import store_upload
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.test_public import text


@pytest.fixture
def author(ctx):
    return make_user("memo-writer@example.com", roles=("author",), display_name="Mia Memo")


def kept(app):
    return app.extensions[EXTENSION]


def test_parts_are_kept_and_drawn_once(app, client, author):
    make_post(author, title="Kept card")
    first = client.get("/").data
    stored = len(kept(app))
    # The card, the head links, the header and the footer at least.
    assert stored >= 4
    assert client.get("/").data == first
    assert len(kept(app)) == stored


@pytest.mark.parametrize(
    "change, before, after",
    [
        ("title", "Old title", "New title"),
        ("excerpt", "Old excerpt", "New excerpt"),
        ("tag", "Oldtag", "Newtag"),
        ("author", "Mia Memo", "Mia Renamed"),
        ("alt", "An old description", "A new description"),
        ("body", "1 min read", "3 min read"),
    ],
)
def test_a_change_shows_at_once_on_every_list(app, client, author, change, before, after):
    """No purge reaches the kept parts: the values they show are their key."""
    tag = make_tag("Oldtag")
    post = make_post(author, title="Old title", excerpt="Old excerpt", tags=[tag])
    record = store_upload(db.session, image_bytes("JPEG", size=(800, 600)), "p.jpg", author)
    record.alt_text = "An old description"
    post.social_image = record
    db.session.commit()
    other = make_post(author, title="Other post", tags=[tag])
    pages = ["/", f"/tags/{tag.slug}", f"/authors/{author.slug}", f"/posts/{other.slug}"]
    for page in pages:
        assert before in text(client.get(page)), page
    if change == "title":
        post.title = after
    elif change == "excerpt":
        post.excerpt = after
    elif change == "tag":
        tag.name = after
    elif change == "author":
        author.display_name = after
    elif change == "alt":
        record.alt_text = after
    else:
        # Three minutes of words, written the way an import or a script would (no ORM event;
        # such a write sets the stored count with the body, as the model does).
        body = "word " * 700
        db.session.execute(
            update(Post)
            .where(Post.id == post.id)
            .values(body_md=body, word_count=count_words(body))
        )
    db.session.commit()
    for page in pages:
        shown = text(client.get(page))
        assert after in shown, page
        if change != "body":
            assert before not in shown, page


def test_the_header_shows_a_new_menu_item_at_once(app, client, author):
    client.get("/")
    db.session.add(NavItem(label="Fresh link", url="https://example.org/", position=1))
    db.session.commit()
    assert "Fresh link" in text(client.get("/"))


def test_a_post_page_shows_its_new_body_at_once(app, client, author):
    post = make_post(author, title="Body post", body="First words.")
    assert "First words." in text(client.get(f"/posts/{post.slug}"))
    post.body_md = "Second words."
    post.body_html = "<p>Second words.</p>"
    db.session.commit()
    page = text(client.get(f"/posts/{post.slug}"))
    body = page.split('<div class="post-body">', 1)[1].split("</div>", 1)[0]
    assert body == "<p>Second words.</p>"


def test_a_signed_in_header_is_never_kept_nor_served_from_the_store(app, browser, author):
    """A person's header (their links, their log-out form) is drawn for them alone, and they
    never get the anonymous one."""
    make_post(author, title="Shared post")
    anonymous = app.test_client()
    assert "Log in" in text(anonymous.get("/"))
    reader = make_user("memo-reader@example.com", roles=("reader",))
    assert browser.login(reader.email, PASSWORD).status_code == 302
    stored = len(kept(app))
    mine = text(browser.client.get("/"))
    assert "Log out" in mine and "Log in" not in mine
    assert len(kept(app)) == stored
    assert "Log in" in text(anonymous.get("/"))


def test_the_store_keeps_within_its_budget(app, client, author):
    """The least recently used parts go first; a part larger than an eighth of the budget is
    drawn every time and never kept."""
    fragments = kept(app)
    budget = fragments.budget
    fragments.clear()
    fragments.budget = 20_000
    try:
        for n in range(12):
            make_post(author, title=f"Many {n}", body="word " * 3000)
        for page in ("/", "/tags", "/archive", "/?page=2", "/authors/" + author.slug):
            client.get(page)
            assert 0 < fragments.used <= 20_000
            assert fragments.used == sum(
                len(part) + fragments.OVERHEAD for part in fragments._kept.values()
            )
        post = make_post(author, title="Long one", body="word " * 3000)
        page = client.get(f"/posts/{post.slug}").get_data(as_text=True)
        assert not any(
            "Long one" in part and "post-body" in part for part in fragments._kept.values()
        )
        assert "Long one" in page
    finally:
        fragments.budget = budget


def test_no_store_keeps_nothing(app, client, author):
    make_post(author, title="Not kept")
    app.extensions.pop(EXTENSION)
    assert "Not kept" in text(client.get("/"))
    assert EXTENSION not in app.extensions
