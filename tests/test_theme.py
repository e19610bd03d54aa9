"""The default theme: lists that cost the same at any depth, archives, tags, the post page's
neighbours, related posts and author box, featured images, page deps, and THEME_FOLDER."""

import re
from datetime import datetime, timedelta

import pytest
from flask import request_finished
from sqlalchemy import insert, select

from cms.extensions import db
from cms.models import Post, PostStatus, Tag, utcnow
from cms.services import listing, page_deps
from cms.services.media import store_upload
from tests.factories import image_bytes, make_post, make_tag, make_user
from tests.media import fetch
from tests.test_public import text, titles_on


@pytest.fixture
def author(ctx):
    return make_user("writer@example.com", roles=("author",), display_name="Wendy Writer")


def make_posts(author, count, start=None, **fields):
    """Publish `count` posts an hour apart, newest first ("Post 00" is the newest)."""
    start = start or utcnow() - timedelta(minutes=5)
    return [
        make_post(author, title=f"Post {n:02d}", published_at=start - timedelta(hours=n), **fields)
        for n in range(count)
    ]


def featured(post, author, size=(1600, 900), alt="A red square"):
    """Give a post a featured image from the library (stored for real)."""
    record = store_upload(db.session, image_bytes("JPEG", size=size), "photo.jpg", author)
    record.alt_text = alt
    post.social_image = record
    db.session.commit()
    return record


@pytest.fixture
def deps(app):
    """What each request recorded for the page cache: a list of (names, newest change)."""
    seen = []

    def record(sender, response, **extra):
        seen.append(page_deps.recorded())

    request_finished.connect(record, app)
    yield seen
    request_finished.disconnect(record, app)


# --- Lists ----------------------------------------------------------------------------------


def test_every_page_matches_a_plain_offset_read(app, client, author):
    """Pages read from the front and from the back give exactly the OFFSET order; ties too."""
    app.config["POSTS_PER_PAGE"] = 3
    try:
        now = utcnow() - timedelta(minutes=5)
        for n in range(11):
            # Pairs share a publication time: the id breaks the tie, both ways round.
            make_post(author, title=f"Post {n:02d}", published_at=now - timedelta(hours=n // 2))
        expected = [
            post.title
            for post in db.session.scalars(
                select(Post).order_by(Post.published_at.desc(), Post.id.desc())
            )
        ]
        seen = []
        for number in range(1, 5):
            page = text(client.get(f"/?page={number}"))
            assert f"Page {number} of 4" in page
            seen += titles_on(page)
        assert seen == expected
        assert client.get("/?page=5").status_code == 404
    finally:
        app.config["POSTS_PER_PAGE"] = 10


def test_page_past_the_end_is_404_without_reading_rows(app, client, author):
    make_posts(author, 3)
    with app.test_request_context():
        assert listing.paginate(listing.ALL, 2, 10) is None
        assert listing.count_visible() == 3
        page = listing.paginate(listing.ALL, 1, 2)
        assert (page.number, page.pages, page.total, page.has_next) == (1, 2, 3, True)
    assert client.get("/?page=2").status_code == 404


def test_list_head_has_prev_and_next_links(app, client, author):
    make_posts(author, 25)
    first, second, third = (text(client.get(url)) for url in ("/", "/?page=2", "/?page=3"))
    assert '<link rel="next" href="/?page=2">' in first and 'rel="prev"' not in first
    assert '<link rel="prev" href="/">' in second and '<link rel="next" href="/?page=3">' in second
    assert '<link rel="prev" href="/?page=2">' in third and 'rel="next"' not in third
    assert "Page 2 of 3" in second
    assert "<title>Page 2 of 3 · " in second


def test_counts_leave_out_what_readers_cannot_see(app, client, author):
    tag = make_tag("Gardening")
    make_posts(author, 2, tags=[tag])
    make_post(author, title="Draft", status=PostStatus.DRAFT, tags=[tag])
    make_post(author, title="Later", published_at=utcnow() + timedelta(days=1), tags=[tag])
    make_post(author, title="Gone", unpublish_at=utcnow() - timedelta(minutes=1), tags=[tag])
    with app.test_request_context():
        assert listing.count_visible(listing.Scope("tag", tag.id)) == 2
        assert listing.count_visible(listing.Scope("author", author.id)) == 2
        assert listing.tag_counts() == [(tag, 2)]
    page = text(client.get(f"/tags/{tag.slug}"))
    assert "2 posts" in page
    index = text(client.get("/tags"))
    assert "Gardening" in index and "2 posts" in index


def test_tag_page_shows_description_and_count(app, client, author):
    tag = make_tag("Roses")
    tag.description = "Everything about <roses> & their thorns."
    db.session.commit()
    make_posts(author, 3, tags=[tag])
    page = text(client.get(f"/tags/{tag.slug}"))
    assert "Everything about &lt;roses&gt; &amp; their thorns." in page
    assert "3 posts" in page
    assert 'content="Everything about &lt;roses&gt; &amp; their thorns."' in page


def test_tag_index_lists_only_tags_with_visible_posts(app, client, author):
    shown, hidden = make_tag("Shown"), make_tag("Only drafts")
    make_post(author, tags=[shown])
    make_post(author, status=PostStatus.DRAFT, tags=[hidden])
    page = text(client.get("/tags"))
    assert "Shown" in page and "Only drafts" not in page
    assert "1 post<" in page


# --- Archive --------------------------------------------------------------------------------


def test_month_archive_and_its_index(app, client, author):
    may = datetime(2025, 5, 20, 12, 0)
    make_post(author, title="Late May", published_at=may)
    make_post(author, title="Early May", published_at=datetime(2025, 5, 1, 0, 0))
    make_post(author, title="June first", published_at=datetime(2025, 6, 1, 0, 0))
    make_post(author, title="April end", published_at=datetime(2025, 4, 30, 23, 59, 59))
    make_post(author, title="May draft", published_at=may, status=PostStatus.DRAFT)
    page = text(client.get("/archive/2025/5"))
    assert titles_on(page) == ["Late May", "Early May"]
    assert "May 2025" in page and "2 posts" in page
    index = text(client.get("/archive"))
    assert 'href="/archive/2025/5"' in index and 'href="/archive/2025/6"' in index
    assert index.index("/archive/2025/6") < index.index("/archive/2025/5")
    assert "2 posts" in index and "1 post<" in index
    with app.test_request_context():
        months = [(m.year, m.month, m.count) for m in listing.archive_months()]
    assert months == [(2025, 6, 1), (2025, 5, 2), (2025, 4, 1)]


@pytest.mark.parametrize(
    "path",
    ["/archive/2025/13", "/archive/2025/0", "/archive/0/5", "/archive/10000/1",
     "/archive/99999999999999999999/1", "/archive/2025/-1", "/archive/2024/5"],
)  # fmt: skip
def test_hostile_or_empty_months_are_404(app, client, author, path):
    make_post(author, published_at=datetime(2025, 5, 20))
    assert client.get(path).status_code == 404


# --- One post -------------------------------------------------------------------------------


def test_newer_and_older_links_follow_publication_order(app, client, author):
    old, middle, new = reversed(make_posts(author, 3))
    make_post(author, title="Draft between", status=PostStatus.DRAFT)
    page = text(client.get(f"/posts/{middle.slug}"))
    nav = page.split('class="post-nav"', 1)[1].split("</nav>", 1)[0]
    assert f'href="/posts/{new.slug}"' in nav and f'href="/posts/{old.slug}"' in nav
    assert "Newer post" in nav and "Older post" in nav
    newest = text(client.get(f"/posts/{new.slug}"))
    assert "Newer post" not in newest and "Older post" in newest


def test_newer_and_older_links_skip_scheduled_and_expired_posts(app, client, author):
    now = utcnow()
    old = make_post(author, title="Old", published_at=now - timedelta(days=3))
    make_post(author, title="Gone", published_at=now - timedelta(days=2), unpublish_at=now)
    middle = make_post(author, title="Middle", published_at=now - timedelta(days=1))
    make_post(author, title="Later", published_at=now + timedelta(days=1))
    page = text(client.get(f"/posts/{middle.slug}"))
    nav = page.split('class="post-nav"', 1)[1].split("</nav>", 1)[0]
    assert f'href="/posts/{old.slug}"' in nav
    assert "Newer post" not in nav and "Gone" not in nav and "Later" not in nav


def test_related_posts_share_the_most_tags(app, client, author):
    python, flask, other = make_tag("Python"), make_tag("Flask"), make_tag("Other")
    post = make_post(author, title="The post", tags=[python, flask])
    make_post(
        author, title="Both tags", tags=[python, flask], published_at=utcnow() - timedelta(days=9)
    )
    make_post(author, title="One tag new", tags=[python])
    make_post(author, title="One tag old", tags=[flask], published_at=utcnow() - timedelta(days=5))
    make_post(
        author, title="One tag older", tags=[flask], published_at=utcnow() - timedelta(days=6)
    )
    make_post(author, title="Unrelated", tags=[other])
    make_post(author, title="Draft both", tags=[python, flask], status=PostStatus.DRAFT)
    with app.test_request_context():
        found = [p.title for p in listing.related(post)]
    assert found == ["Both tags", "One tag new", "One tag old"]
    page = text(client.get(f"/posts/{post.slug}"))
    related = page.split('class="related"', 1)[1].split("</section>", 1)[0]
    assert "Both tags" in related and "Unrelated" not in related and "Draft both" not in related


def test_author_box_and_reading_time(app, client, author):
    author.bio = "Grows <tomatoes>."
    db.session.commit()
    post = make_post(author, body=" ".join(["word"] * 700), tags=[make_tag("Garden")])
    page = text(client.get(f"/posts/{post.slug}"))
    box = page.split('class="author-box"', 1)[1].split("</section>", 1)[0]
    assert "Wendy Writer" in box and "Grows &lt;tomatoes&gt;." in box
    assert ">WW</span>" in box
    assert f'href="/authors/{author.slug}"' in box
    assert "3 min read" in page


def test_word_counts_follow_the_body_however_a_post_is_written(app, client, author):
    """Reading times come from the stored count: set with the body, and by bulk inserts."""
    post = make_post(author, title="Counted", body="one two three")
    assert post.word_count == 3
    post.body_md = " ".join(["word"] * 1000)
    db.session.commit()
    assert db.session.scalar(select(Post.word_count).where(Post.id == post.id)) == 1000
    assert "4 min read" in text(client.get(f"/posts/{post.slug}"))
    assert "4 min read" in text(client.get("/"))
    # An INSERT that names no count (seeds, imports through the table) gets its body's.
    db.session.execute(
        insert(Post.__table__),
        [
            {"title": "Bulk", "slug": "bulk", "body_md": "a b c d", "status": "draft",
             "author_id": author.id},
            {"title": "More", "slug": "more", "body_md": "e\nf", "status": "draft",
             "author_id": author.id},
        ],
    )  # fmt: skip
    db.session.execute(
        insert(Post.__table__).values(
            title="Empty", slug="empty", status="draft", author_id=author.id
        )
    )
    db.session.commit()
    counts = db.session.execute(
        select(Post.slug, Post.word_count).where(Post.slug.in_(["bulk", "more", "empty"]))
    ).all()
    assert dict(counts) == {"bulk": 4, "more": 2, "empty": 0}


def test_featured_image_has_renditions_size_and_alt(app, client, author):
    posts = make_posts(author, 3)
    for post in posts:
        featured(post, author, alt=f"Photo of {post.title}")
    home = text(client.get("/"))
    images = re.findall(r"<img [^>]*>", home)
    assert len(images) == 3
    assert 'loading="eager"' in images[0]
    assert all('loading="lazy"' in tag for tag in images[1:])
    for tag in images:
        assert 'width="1600" height="900"' in tag
        assert re.search(r'srcset="/media/[0-9a-f]+-w320\.jpg 320w, ', tag), tag
        assert 'sizes="' in tag
    assert '<source type="image/webp" srcset="/media/' in home
    assert 'alt="Photo of Post 00"' in images[0]
    page = text(client.get(f"/posts/{posts[1].slug}"))
    figure = page.split('class="featured-image"', 1)[1].split("</figure>", 1)[0]
    assert 'alt="Photo of Post 01"' in figure and 'loading="eager"' in figure
    # Readers may fetch the image and its renditions: a published post shows it.
    name = re.search(r'srcset="(/media/[^ ]+) 320w', figure).group(1)
    assert fetch(client, name).status_code == 200


def test_dates_have_no_microseconds(app, client, author):
    post = make_post(author, published_at=datetime(2025, 3, 4, 5, 6, 7, 891011))
    page = text(client.get(f"/posts/{post.slug}"))
    assert 'datetime="2025-03-04T05:06:07Z"' in page


# --- Cookies, forms and page deps -----------------------------------------------------------


def test_anonymous_pages_carry_no_form_token_or_cookie(app, client, author):
    tag = make_tag("News")
    post = make_post(author, tags=[tag])
    for url in ("/", f"/posts/{post.slug}", f"/tags/{tag.slug}", "/tags", "/archive"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = text(response)
        # The only form is the search box: a GET form without a token.
        assert "csrf_token" not in page and page.count("<form") == 1, url
        assert 'method="get"' in page and 'method="post"' not in page.lower(), url
        assert "Set-Cookie" not in response.headers, url
        assert 'hreflang="de"' in text(response), url


def test_views_record_what_they_show(app, client, author, deps):
    tag = make_tag("News")
    older = make_post(author, title="Older", tags=[tag], published_at=utcnow() - timedelta(days=2))
    post = make_post(author, title="Newer", tags=[tag])
    featured(post, author)
    client.get("/")
    names, changed = deps[-1]
    assert {"posts", "menu", "tags", f"post:{post.id}", f"post:{older.id}"} <= names
    assert {f"author:{author.id}", f"file:{post.social_image_id}"} <= names
    assert changed == max(post.updated_at, older.updated_at)
    client.get(f"/posts/{older.slug}")
    names, _changed = deps[-1]
    assert {f"post:{older.id}", "posts", "menu", f"author:{author.id}", "tags"} <= names
    assert f"post:{post.id}" in names  # the newer-post link and the related post show it
    client.get(f"/tags/{tag.slug}")
    assert {"posts", f"tag:{tag.id}", "tags", "menu"} <= deps[-1][0]
    client.get(f"/authors/{author.slug}")
    assert {"posts", f"author:{author.id}", "menu"} <= deps[-1][0]
    for url in ("/tags", "/archive"):
        client.get(url)
        assert {"posts", "menu"} <= deps[-1][0], url


def test_tag_description_in_the_dashboard(app, browser, client, ctx):
    make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", "correct horse battery staple")
    response = browser.submit(
        "/admin/tags/new/",
        {"name": "Roses", "slug": "", "description": "  All about roses.  "},
        match="/admin/tags/new/",
    )
    assert response.status_code == 302
    tag = db.session.scalars(select(Tag).where(Tag.name == "Roses")).one()
    assert tag.description == "All about roses."


# --- THEME_FOLDER ---------------------------------------------------------------------------


@pytest.fixture
def theme(tmp_path):
    """A theme that extends the built-in layout, replaces the tag index and a static file."""
    folder = tmp_path / "theme"
    (folder / "templates" / "public").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "templates" / "layout.html").write_text(
        '{% extends "cms/layout.html" %}'
        "{% block body_class %}my-theme{% endblock %}"
        "{% block theme_head %}"
        "<link rel=\"stylesheet\" href=\"{{ url_for('static', filename='theme.css') }}\">"
        "{% endblock %}"
    )
    (folder / "templates" / "public" / "tags.html").write_text(
        '{% extends "layout.html" %}{% block content %}<p>Our own tag index</p>{% endblock %}'
    )
    (folder / "static" / "site.css").write_text("body { color: rebeccapurple; }")
    (folder / "static" / "theme.css").write_text(".my-theme { margin: 0; }")
    (tmp_path / "secret.txt").write_text("outside the theme")
    return folder


def test_theme_templates_and_static_files_win(app, variant, theme, ctx):
    author = make_user("themed@example.com", roles=("author",))
    post = make_post(author, tags=[make_tag("News")])
    themed = variant(THEME_FOLDER=str(theme))
    client = themed.test_client()
    home = text(client.get("/"))
    assert '<body class="my-theme">' in home  # the theme's layout, extending the built-in one
    assert 'href="/static/theme.css"' in home and "site-header" in home
    assert "Our own tag index" in text(client.get("/tags"))
    assert post.title in text(client.get(f"/posts/{post.slug}"))
    assert fetch(client, "/static/site.css").data == b"body { color: rebeccapurple; }"
    assert fetch(client, "/static/theme.css").status_code == 200
    assert b".highlight" in fetch(client, "/static/content.css").data  # the built-in one
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt"):
        response = fetch(client, path)
        assert response.status_code == 404, path
        assert b"outside the theme" not in response.data
    # The default app is unchanged.
    assert b"rebeccapurple" not in fetch(app.test_client(), "/static/site.css").data
