"""Issue 10, item 5: every answer that carries a stored file's bytes is sandboxed.

Originals, thumbnails, documents and renditions; public and signed addresses; full answers,
304, ranges and HEAD; on every storage backend. The site's own page policy (cms.web) must
neither replace the sandbox nor be sent beside it.
"""

import pytest

from cms.extensions import db
from cms.services import media_access
from cms.services.media import store_upload
from cms.services.renditions import crop_name
from tests.factories import image_bytes, make_user
from tests.media import show_publicly, signed
from tests.test_uploads import PDF

SANDBOX = "default-src 'none'; sandbox"


def fetch(client, url, method="GET", **headers):
    response = client.open(url, method=method, headers=headers)
    response.get_data()
    response.close()
    return response


def addresses(application, public: bool) -> dict[str, str]:
    """Store an image and a document; return the address of every kind of file route."""
    with application.app_context():
        uploader = make_user(roles=("editor",))
        color = (10, 20, 30) if public else (40, 50, 60)
        data = image_bytes("PNG", size=(700, 350), color=color)
        image = store_upload(db.session, data, "photo.png", uploader)
        document = store_upload(db.session, PDF + bytes(color), "report.pdf", uploader)
        db.session.commit()
        stem = image.stored_name[:32]
        urls = {
            "original": f"/uploads/{image.stored_name}",
            "thumbnail": f"/uploads/{image.thumbnail_name}",
            "document": f"/uploads/{document.stored_name}",
            "width": f"/media/{stem}-w320.webp",
            "width, original format": f"/media/{stem}-w320.png",
            "crop": f"/media/{crop_name(image, 160, 160)}",
        }
        if public:
            show_publicly(image, document)
            return urls
        return {kind: signed(url) for kind, url in urls.items()}


def assert_sandboxed(response, what):
    assert response.headers.getlist("Content-Security-Policy") == [SANDBOX], what
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"], what


@pytest.mark.parametrize("public", [True, False], ids=["public", "signed"])
def test_every_file_answer_is_sandboxed(backend_app, public):
    client = backend_app.test_client()
    cache = (
        f"public, max-age={media_access.PUBLIC_MAX_AGE}"
        if public
        else f"private, max-age={media_access.SIGNED_MAX_AGE}"
    )
    for kind, url in addresses(backend_app, public).items():
        full = fetch(client, url)
        assert full.status_code == 200, (kind, url)
        assert_sandboxed(full, kind)
        assert full.headers["Cache-Control"] == cache, kind
        assert "immutable" not in full.headers["Cache-Control"]
        again = fetch(client, url, **{"If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304, kind
        assert_sandboxed(again, (kind, 304))
        since = fetch(client, url, **{"If-Modified-Since": full.headers["Last-Modified"]})
        assert since.status_code == 304, kind
        assert_sandboxed(since, (kind, "since"))
        part = fetch(client, url, Range="bytes=0-9")
        assert part.status_code == 206 and len(part.data) == 10, kind
        assert_sandboxed(part, (kind, 206))
        head = fetch(client, url, method="HEAD")
        assert head.status_code == 200 and head.data == b"", kind
        assert_sandboxed(head, (kind, "HEAD"))
