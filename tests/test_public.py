"""The readers' site: lists, posts, tags, authors, escaping, sanitizing, languages.

SECURITY 1, 2, 3, 10, 22.
"""

import html
import re
from datetime import timedelta

import pytest
from markupsafe import escape

from cms.models import PostStatus, utcnow
from cms.services.rendering import render_markdown
from tests.factories import PASSWORD, make_post, make_tag, make_user
from tests.helpers import csrf_token_from
from tests.test_rendering_features import only_disabled_checkboxes

XSS_TITLE = '"><svg onload=alert(1)>'
TEMPLATE_TEXT = "{{ 7*7 }} {{ config.SECRET_KEY }} {% if true %}yes{% endif %}"


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def titles_on(page: str) -> list[str]:
    """Return the post titles listed on a page, in order."""
    found = re.findall(r'<h2 class="card-title"><a href="/posts/[^"]+">([^<]*)</a>', page)
    return [html.unescape(title) for title in found]


def html_lang(page: str) -> str:
    """Return the lang attribute of the page's <html> element."""
    match = re.search(r'<html[^>]*\blang="([^"]*)"', page)
    assert match, "no <html lang>"
    return match.group(1)


@pytest.fixture
def author(ctx):
    """An author with a public profile."""
    return make_user("writer@example.com", roles=("author",), display_name="Wendy Writer")


# --- Lists and pages ----------------------------------------------------------------------


def test_index_lists_newest_first_ten_a_page(app, client, author):
    """Page 1 has the ten newest, page 2 the rest, page 3 does not exist."""
    now = utcnow()
    for number in range(12):
        make_post(
            author,
            title=f"Post number {number:02d}",
            published_at=now - timedelta(hours=number + 1),
        )
    first = text(client.get("/"))
    assert titles_on(first) == [f"Post number {n:02d}" for n in range(10)]
    assert 'href="/?page=2"' in first
    second = client.get("/?page=2")
    assert second.status_code == 200
    assert titles_on(text(second)) == ["Post number 10", "Post number 11"]
    assert 'rel="next"' not in text(second)
    assert client.get("/?page=3").status_code == 404


def test_post_tag_and_author_pages(app, client, author):
    """A published post has its page; its tag and author list it."""
    tag = make_tag("Gardening")
    post = make_post(author, title="Growing tomatoes", body="Water *daily*.", tags=[tag])
    page = client.get(f"/posts/{post.slug}")
    assert page.status_code == 200
    assert "<em>daily</em>" in text(page) and "Growing tomatoes" in text(page)
    assert f'href="/tags/{tag.slug}"' in text(page)
    assert titles_on(text(client.get(f"/tags/{tag.slug}"))) == ["Growing tomatoes"]
    for key in (author.slug, str(author.id)):
        response = client.get(f"/authors/{key}")
        assert response.status_code == 200, key
        assert titles_on(text(response)) == ["Growing tomatoes"]
        assert "Wendy Writer" in text(response)
    assert client.get("/posts/no-such-post").status_code == 404
    assert client.get("/tags/no-such-tag").status_code == 404
    assert client.get("/authors/no-such-author").status_code == 404


def test_drafts_and_scheduled_posts_are_invisible(app, client, author):
    """Drafts and posts published in the future appear nowhere (SECURITY 10)."""
    tag = make_tag("Secret plans")
    visible = make_post(author, title="Already out", tags=[tag])
    draft = make_post(author, title="Draft plan", status=PostStatus.DRAFT, tags=[tag])
    # A draft with a publication date set is still a draft.
    dated_draft = make_post(
        author,
        title="Dated draft",
        status=PostStatus.DRAFT,
        published_at=utcnow() - timedelta(days=1),
        tags=[tag],
    )
    future = make_post(
        author, title="Scheduled plan", tags=[tag], published_at=utcnow() + timedelta(days=1)
    )
    hidden = (draft, dated_draft, future)
    for post in hidden:
        assert client.get(f"/posts/{post.slug}").status_code == 404, post.title
        assert client.get(f"/posts/{post.id}").status_code == 404, post.title
    for url in ("/", f"/tags/{tag.slug}", f"/authors/{author.slug}", f"/authors/{author.id}"):
        page = text(client.get(url))
        assert titles_on(page) == ["Already out"], url
        for post in hidden:
            assert post.title not in page and post.slug not in page, url
    assert client.get(f"/posts/{visible.slug}").status_code == 200


def test_author_without_published_posts_has_no_page(app, client, author):
    """People with only drafts, and readers, have no public page."""
    make_post(author, title="Only a draft", status=PostStatus.DRAFT)
    reader = make_user("reader@example.com")
    for key in (author.slug, str(author.id), reader.slug, str(reader.id)):
        assert client.get(f"/authors/{key}").status_code == 404, key


HOSTILE_PAGES = [
    "'", ";--", "1;--", "1' OR '1'='1", "-1", "0", "00", "1.5", "1e3", " 1", "0x10",
    str(10**9), str(10**30), "99999999999999999999", "²", "١", "𝟙", "Ⅻ", "%00", "\x00",
    "A" * 100_000, "9" * 100_000, "[]", "{}", "true", "NaN", "-0",
]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE_PAGES, ids=lambda v: repr(v[:20]))
def test_hostile_page_numbers_never_500(app, client, author, value):
    """?page= with junk answers 200, 400 or 404, never 500 (SECURITY 22)."""
    tag = make_tag("Tagged")
    make_post(author, title="The only post", tags=[tag])
    for path in ("/", f"/tags/{tag.slug}", f"/authors/{author.slug}"):
        response = client.get(path, query_string={"page": value})
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        if response.status_code == 200:
            # Junk never widens the list beyond the real, visible posts.
            assert titles_on(text(response)) in ([], ["The only post"])


@pytest.mark.parametrize(
    "key",
    ["²", "١", "𝟙", "0", "-1", "9" * 30, "'", "1 OR 1=1", "%00", "a%00b", "A" * 10_000, "%ff"],
)
def test_hostile_keys_in_paths_never_500(app, client, author, key):
    """/posts/, /tags/ and /authors/ with junk are a plain 400 or 404, on every database."""
    make_post(author, title="Something", tags=[make_tag("Some tag")])
    for prefix in ("/posts/", "/tags/", "/authors/"):
        response = client.get(prefix + key)
        assert response.status_code in (400, 404), (prefix, response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)


# --- Escaping and sanitizing --------------------------------------------------------------


def assert_escaped(page: str, raw: str) -> None:
    """Fail if `raw` appears unescaped in a page; require its escaped form instead."""
    assert raw not in page
    assert str(escape(raw)) in page


def test_hostile_title_is_escaped_everywhere_public(app, client, ctx):
    """A title, tag name and author name full of markup show as text (SECURITY 1)."""
    person = make_user("x@example.com", roles=("author",), display_name=XSS_TITLE)
    tag = make_tag(XSS_TITLE)
    post = make_post(person, title=XSS_TITLE, body=f"Body. {XSS_TITLE}", tags=[tag])
    pages = {
        "list": text(client.get("/")),
        "post": text(client.get(f"/posts/{post.slug}")),
        "tag": text(client.get(f"/tags/{tag.slug}")),
        "author": text(client.get(f"/authors/{person.slug}")),
    }
    for name, page in pages.items():
        assert "<svg" not in page, name
        assert_escaped(page, XSS_TITLE)
    title = re.search(r"<title>(.*?)</title>", pages["post"], re.S).group(1)
    assert "<svg" not in title and "&lt;svg" in title


def test_hostile_title_is_escaped_in_the_dashboard(app, browser, client, ctx):
    """The same title is plain text in the dashboard list, edit form and details (SECURITY 1)."""
    admin = make_user("admin@example.com", roles=("admin",), display_name=XSS_TITLE)
    tag = make_tag(XSS_TITLE)
    post = make_post(admin, title=XSS_TITLE, tags=[tag])
    browser.login("admin@example.com", PASSWORD)
    urls = [
        "/admin/posts/",
        f"/admin/posts/edit/?id={post.id}",
        f"/admin/posts/details/?id={post.id}",
        "/admin/tags/",
        f"/admin/tags/edit/?id={tag.id}",
        f"/admin/tags/details/?id={tag.id}",
        "/admin/users/",
        f"/admin/users/edit/?id={admin.id}",
        f"/admin/users/details/?id={admin.id}",
        "/admin/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<svg onload" not in text(response), url
        if url != "/admin/":
            # The title is really on the page, as text.
            assert "&lt;svg onload=alert(1)&gt;" in text(response), url


PAYLOADS = {
    "javascript link": "[x](javascript:alert(1))",
    "javascript link, mixed case": "[x](JaVaScRiPt:alert(1))",
    "javascript link, entity": '<a href="jav&#x61;script:alert(1)">x</a>',
    "data link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "vbscript link": "[x](vbscript:msgbox(1))",
    "img onerror": "<img src=x onerror=alert(1)>",
    "markdown img js": "![x](javascript:alert(1))",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "svg onload": "<svg onload=alert(1)>",
    "script": "<script>alert(1)</script>",
    "iframe": '<iframe src="https://evil.example.com"></iframe>',
    "style url": '<p style="background:url(javascript:alert(1))">x</p>',
    "style tag": "<style>body{background:url(javascript:alert(1))}</style>",
    "form": '<form action="https://evil.example.com"><input name=p></form>',
    "object": '<object data="x.swf"></object><embed src="x.swf">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example.com">',
    "onclick": '<a href="/" onclick="alert(1)">x</a>',
    "math": "<math><mtext><script>alert(1)</script></mtext></math>",
    "base": '<base href="https://evil.example.com/">',
}
FORBIDDEN = [
    "javascript:", "vbscript:", "data:text", "onerror", "onload", "onclick", "<script", "<iframe",
    "<svg", "<form", "<object", "<embed", "<meta http", "style=", "<style", "<math",
    "<base", "alert(1)</script>",
]  # fmt: skip


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_markdown_payloads_never_reach_a_page(app, client, author, name):
    """Hostile Markdown and HTML are sanitized before they are stored (SECURITY 2)."""
    post = make_post(author, title=f"Payload {name}", body=f"Before.\n\n{PAYLOADS[name]}\n\nAfter.")
    stored = post.body_html
    page = text(client.get(f"/posts/{post.slug}"))
    body = page.split('<div class="post-body">', 1)[1].split("</div>", 1)[0]
    for fragment in FORBIDDEN:
        assert fragment not in stored.lower(), (name, fragment, stored)
        assert fragment not in body.lower(), (name, fragment, body)
    # The one <input> allowed: a disabled checkbox (what task lists show).
    assert only_disabled_checkboxes(stored) and only_disabled_checkboxes(body), (name, body)
    assert "Before." in body and "After." in body


def test_only_safe_link_schemes_survive():
    """http(s), mailto and relative links are kept; every other scheme is dropped."""
    out = render_markdown(
        "[a](https://example.com/x) [b](http://example.com) [c](mailto:me@example.com) "
        "[d](/posts/hello) [e](../up) [f](#top) [g](ftp://example.com/f) [h](file:///etc/passwd)"
        " [i](javascript:alert(1)) [j](data:text/html,hi) [k](tel:123)"
    )
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert hrefs == [
        "https://example.com/x",
        "http://example.com",
        "mailto:me@example.com",
        "/posts/hello",
        "../up",
        "#c-top",  # in-page links point at the body's own (prefixed) ids
    ]
    assert 'rel="noopener noreferrer"' in out


def test_user_text_is_never_a_template(app, client, ctx):
    """Template syntax in a title, body, tag or name shows literally (SECURITY 3)."""
    person = make_user("t@example.com", roles=("author",), display_name=TEMPLATE_TEXT)
    tag = make_tag(TEMPLATE_TEXT)
    post = make_post(person, title=TEMPLATE_TEXT, body=TEMPLATE_TEXT, tags=[tag])
    pages = {
        url: text(client.get(url))
        for url in ("/", f"/posts/{post.slug}", f"/tags/{tag.slug}", f"/authors/{person.slug}")
    }
    for url, page in pages.items():
        assert app.config["SECRET_KEY"] not in page, url
        assert str(escape(TEMPLATE_TEXT)) in page, url
    # The exact text, not 49 or "yes", in the headings and the post's <title>.
    post_page = pages[f"/posts/{post.slug}"]
    assert html.unescape(re.search(r"<h1>(.*?)</h1>", post_page).group(1)) == TEMPLATE_TEXT
    assert html.unescape(re.search(r"<title>(.*?) · ", post_page).group(1)) == TEMPLATE_TEXT
    assert titles_on(pages["/"]) == [TEMPLATE_TEXT]
    assert TEMPLATE_TEXT in html.unescape(pages[f"/tags/{tag.slug}"])
    assert f"Posts by {TEMPLATE_TEXT}" in html.unescape(pages[f"/authors/{person.slug}"])
    body = post_page.split('<div class="post-body">', 1)[1].split("</div>", 1)[0]
    assert html.unescape(body) == f'<p dir="auto">{TEMPLATE_TEXT}</p>'


# --- Languages (choosing one: tests/test_languages.py) --------------------------------------------


def choose_language(browser, client, code: str):
    """Post the dashboard's language form (public pages offer links instead of a form)."""
    page = text(client.get("/"))
    # A logged-in person's header has the logout form (and its token); a visitor's has none.
    token = csrf_token_from(page) if "csrf_token" in page else browser.csrf()
    data = {"language": code, "next": "/", "csrf_token": token}
    return client.post("/language", data=data)


def test_unknown_language_is_refused(app, browser, client):
    """A language the site does not offer changes nothing."""
    choose_language(browser, client, "xx")
    page = text(client.get("/", follow_redirects=True))
    assert html_lang(page) == "en"


def test_language_needs_csrf(app, client):
    """The language form is a state change: no token, no change."""
    response = client.post("/language", data={"language": "de"})
    assert response.status_code == 400
    assert html_lang(text(client.get("/"))) == "en"
