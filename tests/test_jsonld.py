"""Structured data (JSON-LD): parsed back exactly, one block per page, nothing injected."""

import json
from html.parser import HTMLParser

import pytest
from flask import render_template_string

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus
from cms.services.jsonld import dumps, iso
from cms.services.media import store_upload
from cms.services.previews import preview_token
from tests.factories import image_bytes, make_post, make_tag, make_user

HOSTILE_TITLE = '</script><script>alert(1)</script> Tom & "Jerry"'


class ScriptParser(HTMLParser):
    """Collect every <script> of a page as a browser's parser splits them: (attrs, text)."""

    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._current = (dict(attrs), [])

    def handle_data(self, data):
        if self._current is not None:
            self._current[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._current is not None:
            self.scripts.append((self._current[0], "".join(self._current[1])))
            self._current = None


def scripts(response) -> list[tuple[dict, str]]:
    """Return the scripts of a page."""
    assert response.status_code == 200, response.status_code
    parser = ScriptParser()
    parser.feed(response.get_data(as_text=True))
    return parser.scripts


def blocks(response) -> list:
    """Return the parsed JSON-LD blocks of a page; fail on any other inline script."""
    found = []
    for attrs, text in scripts(response):
        if attrs.get("type") == "application/ld+json":
            found.append(json.loads(text))
        else:
            # Public pages run only script files (no inline script, no nonce).
            assert attrs.get("src") and not text.strip(), (attrs, text)
    return found


def graph_item(block: dict, kind: str) -> dict:
    """Return the node of one @type from a block's @graph."""
    return next(node for node in block["@graph"] if node["@type"] == kind)


@pytest.fixture
def writer(ctx):
    """An editor with a display name."""
    return make_user("ld@example.com", roles=("editor",), display_name="Lee Dee")


def test_a_hostile_title_yields_one_block_that_parses_back(client, writer):
    tag = make_tag("Garden")
    make_post(writer, title=HOSTILE_TITLE, slug="hostile", tags=[tag])
    response = client.get("/posts/hostile")
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page
    found = blocks(response)
    assert len(found) == 1
    posting = graph_item(found[0], "BlogPosting")
    assert posting["headline"] == HOSTILE_TITLE
    trail = graph_item(found[0], "BreadcrumbList")["itemListElement"]
    assert trail[-1]["name"] == HOSTILE_TITLE
    # The raw block holds no character that could end the element or start an entity.
    raw = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert not set(raw) & {"<", ">", "&"}


def test_blog_posting_fields(app, client, writer):
    image = store_upload(db.session, image_bytes(), "cover.png", writer)
    db.session.commit()
    tag = make_tag("Garden")
    post = make_post(writer, title="Tomatoes", body="Water them.", tags=[tag], social_image=image)
    data = blocks(client.get(f"/posts/{post.slug}"))[0]
    assert data["@context"] == "https://schema.org"
    posting = graph_item(data, "BlogPosting")
    stored = db.session.get(Post, post.id)
    url = "http://localhost/posts/tomatoes"
    assert posting["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert posting["url"] == url
    assert posting["datePublished"] == iso(stored.published_at)
    assert posting["dateModified"] == iso(max(stored.updated_at, stored.published_at))
    assert posting["datePublished"].endswith("Z")
    assert posting["author"] == {
        "@type": "Person",
        "name": "Lee Dee",
        "url": f"http://localhost/authors/{writer.slug}",
    }
    assert posting["image"] == [f"http://localhost/uploads/{image.stored_name}"]
    assert posting["publisher"]["@type"] == "Organization"
    assert posting["publisher"]["name"] == app.config["SITE_NAME"]
    assert posting["description"] == "Water them."
    trail = graph_item(data, "BreadcrumbList")["itemListElement"]
    assert [(item["position"], item["name"], item["item"]) for item in trail] == [
        (1, "Home", "http://localhost/"),
        (2, "Garden", "http://localhost/tags/garden"),
        (3, "Tomatoes", url),
    ]


def test_pages_are_web_pages_under_home(client, writer):
    page = make_post(writer, title="About us", kind=PostKind.PAGE)
    data = blocks(client.get(f"/{page.slug}"))[0]
    node = graph_item(data, "WebPage")
    assert node["@id"] == "http://localhost/about-us"
    trail = graph_item(data, "BreadcrumbList")["itemListElement"]
    assert [item["name"] for item in trail] == ["Home", "About us"]


def test_previews_carry_no_structured_data(app, client, writer):
    draft = make_post(writer, title="Unfinished", status=PostStatus.DRAFT)
    with app.test_request_context():
        token = preview_token(draft)
    assert blocks(client.get(f"/preview/{token}")) == []


def test_tag_and_author_pages_have_a_trail(client, writer):
    tag = make_tag(HOSTILE_TITLE[:60])
    make_post(writer, title="Tagged", tags=[tag])
    response = client.get(f"/tags/{tag.slug}")
    found = blocks(response)
    assert len(found) == 1
    trail = found[0]["itemListElement"]
    assert [item["name"] for item in trail] == ["Home", tag.name]
    found = blocks(client.get(f"/authors/{writer.slug}"))
    assert found[0]["itemListElement"][1] == {
        "@type": "ListItem",
        "position": 2,
        "name": "Lee Dee",
        "item": f"http://localhost/authors/{writer.slug}",
    }


def site_head(app, path: str) -> str:
    """Render site_head() (what the layout calls in every head) as on the page at `path`."""
    with app.test_request_context(path):
        return render_template_string(
            '{% from "macros/seo.html" import site_head %}{{ site_head() }}'
        )


def test_the_home_page_names_the_website_and_its_search(app, client, writer):
    make_post(writer, title="Anything")
    # Only the home page carries the WebSite.
    assert "application/ld+json" not in site_head(app, "/posts/anything")
    head = site_head(app, "/")
    raw = head.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    website = json.loads(raw)
    assert website["@type"] == "WebSite"
    assert website["url"] == "http://localhost/"
    assert website["name"] == app.config["SITE_NAME"]
    # The search page belongs to the search part of the site (public.search).
    assert "public.search" in app.view_functions
    action = website["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == "http://localhost/search?q={search_term_string}"
    assert action["query-input"] == "required name=search_term_string"


def test_dumps_escapes_what_html_would_read():
    value = {"a": "</script><!-- & \u2028 >"}
    text = dumps(value)
    assert not set(text) & {"<", ">", "&", "\u2028"}
    assert json.loads(text) == value
