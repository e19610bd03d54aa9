"""The whole path of a post, through real forms: admin -> editor -> image -> post -> reader."""

import re

from sqlalchemy import select

from cms.extensions import db
from cms.models import File, Post, PostStatus, Role, User
from tests.admin.admin_helpers import submit_admin, upload
from tests.factories import PASSWORD, image_bytes, make_post, make_user

EDITOR_PASSWORD = "the editor's own long password"


def test_admin_editor_image_post_reader(app, browser, client, ctx):
    admin = make_user("admin@example.com", roles=("admin",))
    author = make_user("author@example.com", roles=("author",))
    draft = make_post(author, title="Secret draft", status=PostStatus.DRAFT)
    editor_role = db.session.scalars(select(Role).where(Role.name == "editor")).one()

    # The admin creates an editor in People -> Users.
    assert browser.login(admin.email, PASSWORD).status_code == 302
    response = submit_admin(
        browser,
        "/admin/users/new/",
        {
            "email": "editor@example.com",
            "display_name": "Eddie Editor",
            "roles": str(editor_role.id),
            "new_password": EDITOR_PASSWORD,
        },
    )
    assert response.status_code == 302
    browser.logout()

    # The editor uploads an image and publishes a post that shows it.
    assert browser.login("editor@example.com", EDITOR_PASSWORD).status_code == 302
    picture = image_bytes("PNG", size=(300, 200))
    assert upload(browser, picture, "harbour.png").status_code == 302
    stored = db.session.scalars(select(File)).one()
    # Described in the library (needed before publishing); the post's HTML takes it from there.
    edit = f"/admin/files/edit/?id={stored.id}"
    assert submit_admin(browser, edit, {"alt_text": "The harbour at dawn"}).status_code == 302
    snippet = f"![](/uploads/{stored.stored_name})"
    response = submit_admin(
        browser,
        "/admin/posts/new/",
        {"title": "Morning at the harbour", "body_md": f"First light.\n\n{snippet}",
         "status": "published"},
    )  # fmt: skip
    assert response.status_code == 302
    post = db.session.scalars(select(Post).where(Post.title == "Morning at the harbour")).one()
    editor = db.session.scalars(select(User).where(User.email == "editor@example.com")).one()
    assert post.status == PostStatus.PUBLISHED and post.author_id == editor.id
    browser.logout()

    # An anonymous reader finds it on the home page, opens it and gets the image.
    home = client.get("/").get_data(as_text=True)
    assert "Morning at the harbour" in home
    assert "Secret draft" not in home
    page = client.get(f"/posts/{post.slug}").get_data(as_text=True)
    tag = re.search(r'<img [^>]*alt="The harbour at dawn"[^>]*>', page).group(0)
    source = re.search(r' src="([^"]+)"', tag).group(1)
    image = client.get(source)
    assert image.status_code == 200
    assert image.mimetype == "image/png"
    assert image.data == picture
    image.close()
    # ...and cannot reach the draft by any public address.
    assert client.get(f"/posts/{draft.slug}").status_code == 404
    assert client.get(f"/authors/{author.slug}").status_code == 404
