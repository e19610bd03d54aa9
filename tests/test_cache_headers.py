"""HTTP caching and compression of the readers' site (cms/web.py).

Anonymous readers' pages: `Cache-Control: public` with the settings' lifetimes, a strong ETag
(a hash of the body), Last-Modified from what the view recorded, 304s; gzip and brotli when
asked, each with its own ETag. With a cookie: `private, no-store`. Files and previews keep
their own headers; errors are kept briefly (not found) or not at all.
"""

import gzip
from datetime import UTC, timedelta

import brotli
import pytest
from flask import Response, abort
from sqlalchemy import text

from cms.extensions import db
from cms.models import PostKind
from cms.models.base import utcnow
from cms.services.media import store_upload
from cms.services.previews import preview_url
from cms.web import compress_response
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user

PUBLIC = "public, max-age=60, s-maxage=600, stale-while-revalidate=60"


@pytest.fixture
def post(ctx):
    """A published post, last changed two days ago."""
    admin = make_user("admin@example.com", roles=("admin",))
    make_user("reader@example.com")
    item = make_post(admin, title="Cached", body="A *long* body. " * 200, tags=[make_tag("T")])
    item.updated_at = utcnow() - timedelta(days=2)
    db.session.commit()
    return item


def test_readers_pages_are_public_with_validators(app, client, post):
    response = client.get(f"/posts/{post.slug}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC
    etag, weak = response.get_etag()
    assert etag and not weak
    assert response.last_modified == post.updated_at.replace(microsecond=0, tzinfo=UTC)
    # The same body gives the same ETag; another page another one.
    assert client.get(f"/posts/{post.slug}").get_etag() == (etag, False)
    assert client.get("/").get_etag()[0] != etag
    for path in ("/", "/de/", f"/de/posts/{post.slug}", f"/authors/{post.author.slug}"):
        assert client.get(path).headers["Cache-Control"] == PUBLIC, path


def test_lifetimes_are_settings(variant, post):
    application = variant(PUBLIC_MAX_AGE=5, PUBLIC_S_MAXAGE=7, PUBLIC_STALE_WHILE_REVALIDATE=9)
    response = application.test_client().get(f"/posts/{post.slug}")
    assert response.headers["Cache-Control"] == (
        "public, max-age=5, s-maxage=7, stale-while-revalidate=9"
    )


def test_unchanged_pages_answer_304_with_an_empty_body(app, client, post):
    url = f"/posts/{post.slug}"
    first = client.get(url)
    etag = first.headers["ETag"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", {etag}'},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        again = client.get(url, headers=headers)
        assert again.status_code == 304, headers
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == PUBLIC
    changed = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.get_data() == first.get_data()
    older = (post.updated_at - timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert client.get(url, headers={"If-Modified-Since": older}).status_code == 200


def test_head_has_the_headers_of_get(app, client, post):
    url = f"/posts/{post.slug}"
    get, head = client.get(url), client.head(url)
    assert head.status_code == 200 and head.get_data() == b""
    for name in ("Cache-Control", "ETag", "Last-Modified", "Content-Security-Policy"):
        assert head.headers[name] == get.headers[name], name


def test_a_logged_in_person_gets_private_pages(app, browser, client, post):
    browser.login("reader@example.com", PASSWORD)
    for url in (f"/posts/{post.slug}", "/", "/de/", "/no-such-page"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert "ETag" not in response.headers, url
        # No validators: never a 304 that would revive someone else's copy.
        later = {"If-Modified-Since": "Sun, 01 Jan 2090 00:00:00 GMT", "If-None-Match": "*"}
        assert client.get(url, headers=later).status_code in (200, 404), url


def test_dashboard_and_account_pages_stay_no_store(app, browser, client, post):
    assert client.get("/account/login").headers["Cache-Control"] == "no-store"
    browser.login("admin@example.com", PASSWORD)
    assert client.get("/admin/posts/").headers["Cache-Control"] == "no-store"


def test_files_and_previews_keep_their_own_headers(app, client, post):
    """Uploads keep their hour-long public lifetime; preview links stay no-store."""
    upload = store_upload(db.session, image_bytes(), "a.png", post.author)
    post.social_image = upload
    db.session.commit()
    response = client.get(f"/uploads/{upload.stored_name}")
    response.close()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    with app.test_request_context():
        link = preview_url(post)
    preview = client.get(link)
    assert preview.status_code == 200
    assert preview.headers["Cache-Control"] == "no-store"


def test_errors_are_kept_briefly_or_not_at_all(app, variant, client, post):
    """404 on a readers' address: a few seconds; 405, 400 and 5xx: never."""
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["Cache-Control"] == "public, max-age=10, s-maxage=10"
    assert "ETag" not in missing.headers
    assert client.get(f"/posts/{post.slug}?page=x").headers["Cache-Control"] == PUBLIC
    assert client.get("/?page=-1").headers["Cache-Control"].startswith("public, max-age=10")
    refused = client.post(f"/posts/{post.slug}")
    assert refused.status_code == 405
    assert refused.headers["Cache-Control"] == "no-store"

    application = variant(TESTING=False)

    def gone():
        abort(410)

    def fail():
        raise RuntimeError("boom")

    def database_down():
        db.session.execute(text("SELECT * FROM no_such_table"))

    application.add_url_rule("/test-gone", view_func=gone)
    application.add_url_rule("/test-fail", view_func=fail)
    application.add_url_rule("/test-db", view_func=database_down)
    other = application.test_client()
    assert other.get("/test-gone").headers["Cache-Control"].startswith("public, max-age=10")
    for url in ("/test-fail", "/test-db"):
        response = other.get(url)
        assert response.status_code >= 500, url
        assert response.headers["Cache-Control"] == "no-store", url


def test_pages_outside_the_readers_site_get_no_public_lifetime(app, client, ctx):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert "public" not in health.headers.get("Cache-Control", "")


# --- Compression ------------------------------------------------------------------------------


DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_pages_are_compressed_when_asked(app, client, post, encoding):
    url = f"/posts/{post.slug}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get(url, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = packed.get_data()
    assert len(body) < len(plain.get_data()) / 2
    assert int(packed.headers["Content-Length"]) == len(body)
    assert DECODE[encoding](body) == plain.get_data()
    # Each encoding its own strong ETag, and its own 304.
    etag, weak = packed.get_etag()
    assert not weak and etag == f"{plain.get_etag()[0]}:{encoding}"
    again = client.get(
        url, headers={"Accept-Encoding": encoding, "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Cache-Control"] == PUBLIC
    assert "Accept-Encoding" in again.headers["Vary"]
    identity = client.get(url, headers={"If-None-Match": packed.headers["ETag"]})
    assert identity.status_code == 200 and "Content-Encoding" not in identity.headers


def test_brotli_is_preferred_and_quality_is_respected(app, client, post):
    url = f"/posts/{post.slug}"

    def encoding(accept):
        return client.get(url, headers={"Accept-Encoding": accept}).headers.get("Content-Encoding")

    assert encoding("gzip, br") == "br"
    assert encoding("br;q=0.5, gzip") == "gzip"
    assert encoding("zstd") is None


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_feeds_and_static_files_are_compressed(app, client, post, encoding):
    for url in ("/static/site.css", "/feed", "/sitemap.xml"):
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        expected = plain.get_data()
        plain.close()
        if plain.status_code == 404 and url != "/static/site.css":
            continue
        assert plain.status_code == 200, url
        packed = client.get(url, headers={"Accept-Encoding": encoding})
        body = packed.get_data()
        packed.close()
        assert packed.headers["Content-Encoding"] == encoding, url
        assert DECODE[encoding](body) == expected, url


def test_stored_files_are_never_compressed(app):
    """Uploads and renditions are sent as they are, whatever their type (ranges stay right)."""
    body = "<p>text</p>" * 200
    for path in ("/uploads/a.txt", "/media/a.txt", "/"):
        with app.test_request_context(path, headers={"Accept-Encoding": "gzip, br"}):
            response = compress_response(Response(body, mimetype="text/plain"))
            expected = None if path != "/" else "br"
            assert response.headers.get("Content-Encoding") == expected, path
    with app.test_request_context("/static/x.css", headers={"Accept-Encoding": "gzip"}):
        partial = Response(body, status=206, mimetype="text/css")
        assert "Content-Encoding" not in compress_response(partial).headers


def test_page_kinds_are_all_cached(app, client, post):
    """A page (About) is cached like a post."""
    page = make_post(post.author, title="About", kind=PostKind.PAGE)
    response = client.get(f"/{page.slug}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC
    assert response.get_etag()[0]
