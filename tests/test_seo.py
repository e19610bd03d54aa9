"""Head tags of the public pages: title, description, canonical address, Open Graph, Twitter,
robots, article times, icons; and the dashboard's "Hide from search engines" switch."""

import io
import re
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from markupsafe import escape
from PIL import Image

from cms.extensions import db
from cms.models import File, Post, PostKind, PostStatus
from cms.services.jsonld import iso
from cms.services.media import store_upload
from cms.services.previews import preview_token
from tests.admin.admin_helpers import submit_admin
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user

HOSTILE = '"><script>alert(1)</script>'


class HeadParser(HTMLParser):
    """Collect <title>, <meta> and <link rel> of a page."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            key = attrs.get("property") or attrs.get("name")
            if key:
                self.meta.setdefault(key, []).append(attrs.get("content", ""))
        elif tag == "link" and attrs.get("rel"):
            self.links.setdefault(attrs["rel"], []).append(attrs.get("href", ""))
        elif tag == "title":
            self._in_title = True

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False


def head(response) -> HeadParser:
    """Parse the head tags of a response (values unescaped, as a browser reads them)."""
    assert response.status_code == 200, response.status_code
    parser = HeadParser()
    parser.feed(response.get_data(as_text=True))
    return parser


def one(parser: HeadParser, key: str) -> str:
    """Return the single value of a meta tag; fail when it is missing or repeated."""
    values = parser.meta.get(key, [])
    assert len(values) == 1, (key, values)
    return values[0]


@pytest.fixture
def author(ctx):
    """An editor."""
    return make_user("seo@example.com", roles=("editor",), display_name="Sam Seo")


def test_post_defaults_come_from_title_and_excerpt(app, client, author):
    post = make_post(author, title="Growing tomatoes", body="Water them *every* day.")
    tags = head(client.get(f"/posts/{post.slug}"))
    assert tags.title == f"Growing tomatoes · {app.config['SITE_NAME']}"
    assert one(tags, "description") == "Water them every day."
    assert tags.links["canonical"] == ["http://localhost/posts/growing-tomatoes"]
    assert one(tags, "og:title") == "Growing tomatoes"
    assert one(tags, "og:description") == "Water them every day."
    assert one(tags, "og:type") == "article"
    assert one(tags, "og:url") == "http://localhost/posts/growing-tomatoes"
    assert one(tags, "og:site_name") == app.config["SITE_NAME"]
    assert one(tags, "twitter:card") == "summary"
    assert "og:image" not in tags.meta and "twitter:image" not in tags.meta


def test_seo_fields_win(app, client, author):
    image = store_upload(db.session, image_bytes(), "cover.png", author)
    db.session.commit()
    post = make_post(
        author,
        title="Plain title",
        meta_title="Search title",
        meta_description="Search description",
        canonical_url="https://elsewhere.example.org/original",
        social_image=image,
    )
    tags = head(client.get(f"/posts/{post.slug}"))
    # The meta title is the whole <title>, as written for search results.
    assert tags.title == "Search title"
    assert one(tags, "description") == "Search description"
    assert tags.links["canonical"] == ["https://elsewhere.example.org/original"]
    assert one(tags, "og:title") == "Search title"
    assert one(tags, "og:description") == "Search description"
    assert one(tags, "og:url") == "https://elsewhere.example.org/original"
    image_url = f"http://localhost/uploads/{image.stored_name}"
    assert one(tags, "og:image") == image_url
    assert one(tags, "twitter:card") == "summary_large_image"
    assert one(tags, "twitter:image") == image_url
    served = client.get(image_url.removeprefix("http://localhost"))
    served.close()
    assert served.status_code == 200
    # The heading still shows the real title.
    assert "<h1>Plain title</h1>" in client.get(f"/posts/{post.slug}").get_data(as_text=True)


def test_a_social_file_that_is_no_image_is_left_out(app, client, author):
    document = File(
        stored_name="a" * 32 + ".pdf",
        original_name="terms.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        uploader=author,
    )
    db.session.add(document)
    db.session.commit()
    post = make_post(author, title="With a PDF", social_image=document)
    tags = head(client.get(f"/posts/{post.slug}"))
    assert "og:image" not in tags.meta
    assert one(tags, "twitter:card") == "summary"


def test_pages_are_websites_at_the_top_level(app, client, author):
    page = make_post(author, title="About", body="Who we are.", kind=PostKind.PAGE)
    tags = head(client.get(f"/{page.slug}"))
    assert one(tags, "og:type") == "website"
    assert tags.links["canonical"] == ["http://localhost/about"]
    assert one(tags, "og:url") == "http://localhost/about"
    assert one(tags, "description") == "Who we are."


def test_only_web_addresses_are_canonical(app, client, author):
    """A stored canonical address that is no http(s) URL is replaced by the item's own."""
    post = make_post(author, title="Odd canonical", canonical_url="javascript:alert(1)")
    tags = head(client.get(f"/posts/{post.slug}"))
    assert tags.links["canonical"] == ["http://localhost/posts/odd-canonical"]
    assert "javascript:" not in client.get(f"/posts/{post.slug}").get_data(as_text=True)


@pytest.mark.parametrize("kind", [PostKind.POST, PostKind.PAGE])
def test_previews_have_no_canonical_and_stay_noindex(app, client, author, kind):
    item = make_post(
        author,
        title="Unfinished",
        status=PostStatus.DRAFT,
        kind=kind,
        canonical_url="https://example.org/final",
    )
    with app.test_request_context():
        token = preview_token(item)
    tags = head(client.get(f"/preview/{token}"))
    assert "canonical" not in tags.links
    assert "og:url" not in tags.meta
    assert one(tags, "robots") == "noindex, nofollow"
    assert one(tags, "og:title") == "Unfinished"


@pytest.mark.parametrize("kind", [PostKind.POST, PostKind.PAGE])
def test_hostile_seo_values_are_escaped(app, client, author, kind):
    image = store_upload(db.session, image_bytes(), f"{HOSTILE}.png", author)
    db.session.commit()
    make_post(
        author,
        title=f"Title {HOSTILE}",
        slug="hostile-seo",
        kind=kind,
        meta_title=f"Meta {HOSTILE}",
        meta_description=f"Description {HOSTILE}",
        canonical_url=f"https://example.org/{HOSTILE}",
        social_image=image,
    )
    url = "/hostile-seo" if kind == PostKind.PAGE else "/posts/hostile-seo"
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    head_part = page.split("</head>", 1)[0]
    for value in (f"Meta {HOSTILE}", f"Description {HOSTILE}", f"https://example.org/{HOSTILE}"):
        assert str(escape(value)) in head_part, value
    tags = head(response)
    # Read back by an HTML parser, the values are exactly what the editor typed.
    assert tags.title == f"Meta {HOSTILE}"
    assert one(tags, "og:title") == f"Meta {HOSTILE}"
    assert one(tags, "twitter:title") == f"Meta {HOSTILE}"
    assert one(tags, "description") == f"Description {HOSTILE}"
    assert one(tags, "og:description") == f"Description {HOSTILE}"
    assert tags.links["canonical"] == [f"https://example.org/{HOSTILE}"]
    assert re.fullmatch(r"http://localhost/uploads/[A-Za-z0-9_.-]+", one(tags, "og:image"))


def test_list_pages_have_social_tags(app, client, author):
    author.bio = f"Writes about {HOSTILE}"
    db.session.commit()
    tag = make_tag(f"Garden {HOSTILE}")
    make_post(author, title="Listed", tags=[tag])
    site = app.config["SITE_NAME"]

    index = head(client.get("/"))
    assert one(index, "og:title") == site
    assert one(index, "og:type") == "website"
    assert site in one(index, "og:description")
    assert one(index, "description") == one(index, "og:description")

    tagged = head(client.get(f"/tags/{tag.slug}"))
    assert one(tagged, "og:title") == f"Posts tagged “Garden {HOSTILE}”"
    assert f"Garden {HOSTILE}" in one(tagged, "og:description")

    by_author = head(client.get(f"/authors/{author.slug}"))
    assert one(by_author, "og:title") == "Posts by Sam Seo"
    assert one(by_author, "og:description") == f"Writes about {HOSTILE}"
    for url in ("/", f"/tags/{tag.slug}", f"/authors/{author.slug}"):
        assert "<script>" not in client.get(url).get_data(as_text=True), url


# --- Search-engine controls, canonical addresses, article times, icons ------------------------


def test_noindex_posts_ask_engines_to_stay_away(client, author):
    hidden = make_post(author, title="Hidden", noindex=True)
    shown = make_post(author, title="Shown")
    assert one(head(client.get(f"/posts/{hidden.slug}")), "robots") == "noindex"
    assert "robots" not in head(client.get(f"/posts/{shown.slug}")).meta
    page = make_post(author, title="Quiet page", kind=PostKind.PAGE, noindex=True)
    assert one(head(client.get(f"/{page.slug}")), "robots") == "noindex"


def test_posts_name_their_publication_and_change_times(client, author):
    post = make_post(author, title="Timed", tags=[make_tag("Garden")])
    tags = head(client.get(f"/posts/{post.slug}"))
    stored = db.session.get(Post, post.id)
    assert one(tags, "article:published_time") == iso(stored.published_at)
    assert one(tags, "article:modified_time") == iso(max(stored.published_at, stored.updated_at))
    assert tags.meta["article:tag"] == ["Garden"]
    page = make_post(author, title="Untimed page", kind=PostKind.PAGE)
    assert "article:published_time" not in head(client.get(f"/{page.slug}")).meta


def test_every_list_page_names_its_canonical_address(app, client, author, monkeypatch):
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 1)
    tag = make_tag("Garden")
    make_post(author, title="One", tags=[tag])
    make_post(author, title="Two", tags=[tag])
    for url, canonical in (
        ("/", "http://localhost/"),
        ("/?page=2", "http://localhost/?page=2"),
        ("/?page=1", "http://localhost/"),
        ("/tags/garden", "http://localhost/tags/garden"),
        ("/tags/garden?page=2", "http://localhost/tags/garden?page=2"),
        (f"/authors/{author.slug}", f"http://localhost/authors/{author.slug}"),
        (f"/authors/{author.id}", f"http://localhost/authors/{author.id}"),
        ("/archive", "http://localhost/archive"),
        # Other query arguments never make another canonical page.
        ("/?utm_source=x", "http://localhost/"),
    ):
        assert head(client.get(url)).links["canonical"] == [canonical], url


def render_site_head(app, path="/posts/x") -> HeadParser:
    """Render site_head() (what the layout puts in every head) and parse its tags."""
    with app.test_request_context(path):
        parser = HeadParser()
        parser.feed(
            render_template_string('{% from "macros/seo.html" import site_head %}{{ site_head() }}')
        )
    return parser


def test_site_head_links_the_feeds_and_icons(app):
    tags = render_site_head(app)
    assert tags.links["alternate"] == ["http://localhost/feed", "http://localhost/feed/rss"]
    assert tags.links["icon"] == ["/static/favicon.ico"]
    assert tags.links["apple-touch-icon"] == ["/static/apple-touch-icon.png"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_icons_answer_where_browsers_look(app, client, host):
    response = client.get("/favicon.ico", base_url=f"http://{host}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    icon = Image.open(io.BytesIO(response.get_data()))
    assert icon.format == "ICO"
    response.close()
    response = client.get("/apple-touch-icon.png", base_url=f"http://{host}")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.get_data())).size == (180, 180)
    response.close()


def test_icons_are_settings(app, client, monkeypatch, tmp_path):
    own = tmp_path / "mine.png"
    own.write_bytes(image_bytes(size=(32, 32)))
    monkeypatch.setitem(app.config, "FAVICON", str(own))
    monkeypatch.setitem(app.config, "TOUCH_ICON", "")
    response = client.get("/favicon.ico")
    assert response.get_data() == own.read_bytes()
    response.close()
    assert client.get("/apple-touch-icon.png").status_code == 404
    tags = render_site_head(app)
    assert tags.links["icon"] == ["/favicon.ico"]
    assert "apple-touch-icon" not in tags.links


def test_the_dashboard_sets_noindex(app, browser, ctx):
    editor = make_user("noindex@example.com", roles=("editor",))
    post = make_post(editor, title="Indexed")
    assert browser.login(editor.email, PASSWORD).status_code == 302
    url = f"/admin/posts/edit/?id={post.id}"
    page = browser.get(url).get_data(as_text=True)
    assert 'name="noindex"' in page and "Hide from search engines" in page
    assert submit_admin(browser, url, {"noindex": "y"}).status_code == 302
    assert browser.db_get(Post, post.id).noindex is True
    checkbox = re.search(
        r'<input[^>]*name="noindex"[^>]*>', browser.get(url).get_data(as_text=True)
    )
    assert "checked" in checkbox[0]
    assert submit_admin(browser, url, {"noindex": None}).status_code == 302
    assert browser.db_get(Post, post.id).noindex is False
