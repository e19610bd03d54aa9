"""The media library in the dashboard: alt text and focal point, where a file is used, deleting
only what no post shows, publishing only described images, who sees what, and quotas.
"""

import re

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File, Post, PostKind, PostStatus
from cms.services.media import store_upload
from tests.admin.admin_helpers import (
    bulk_action,
    delete_row,
    form_fields,
    row_exists,
    stored_files,
    submit_admin,
    text,
    upload,
)
from tests.factories import image_bytes, make_post, make_user
from tests.helpers import csrf_token_from

FILES = "/admin/files/"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def edit_url(record) -> str:
    """Return the edit address of a file."""
    return f"/admin/files/edit/?id={record.id}"


def fresh(model, ident):
    """Return a row as stored now."""
    db.session.expire_all()
    return db.session.get(model, ident)


def stored(data: bytes, name: str, who, **fields) -> File:
    """Store a file directly and commit it."""
    record = store_upload(db.session, data, name, who)
    for key, value in fields.items():
        setattr(record, key, value)
    db.session.commit()
    return record


def image_markdown(record: File) -> str:
    """Return the Markdown the Files page offers for an image."""
    return f"![{record.original_name}](/uploads/{record.stored_name})"


def flashed(response) -> str:
    """Return the text of the error alerts on a page."""
    page = text(response)
    return " ".join(re.findall(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', page, re.S))


# --- Alt text and focal point in the edit form ---------------------------------------------


def test_editor_sets_alt_text_decorative_and_focal_point(browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    fields = form_fields(browser, edit_url(record))
    assert {"alt_text", "focal_x", "focal_y"} <= fields.keys()
    assert 'name="decorative"' in text(browser.get(edit_url(record)))

    response = submit_admin(
        browser,
        edit_url(record),
        {"alt_text": "  Boats at\n dawn ", "focal_x": "25 %", "focal_y": "0,75"},
    )
    assert response.status_code == 302
    saved = fresh(File, record.id)
    assert (saved.alt_text, saved.decorative) == ("Boats at dawn", False)
    assert (saved.focal_x, saved.focal_y) == (0.25, 0.75)
    # Shown again as percentages, and on the details page.
    fields = form_fields(browser, edit_url(record))
    assert (fields["focal_x"], fields["focal_y"]) == ("25%", "75%")
    details = text(browser.get(f"/admin/files/details/?id={record.id}"))
    assert "Boats at dawn" in details and "25% × 75%" in details

    submit_admin(
        browser, edit_url(record), {"alt_text": "", "decorative": "y", "focal_x": "", "focal_y": ""}
    )
    saved = fresh(File, record.id)
    assert (saved.alt_text, saved.decorative, saved.focal_x, saved.focal_y) == (
        "",
        True,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("focal_x", "focal_y", "message"),
    [
        ("150%", "50%", "Enter a number from 0 to 1"),
        ("1.5", "0.5", "Enter a number from 0 to 1"),
        ("-0.1", "0.5", "Enter a number from 0 to 1"),
        ("middle", "0.5", "Enter a number from 0 to 1"),
        ("nan", "0.5", "Enter a number from 0 to 1"),
        ("0.5", "", "Set both focal point values, or clear both"),
    ],
)
def test_bad_focal_points_are_refused_with_a_message(browser, login_as, focal_x, focal_y, message):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    response = submit_admin(browser, edit_url(record), {"focal_x": focal_x, "focal_y": focal_y})
    assert response.status_code == 400
    assert message in text(response)
    saved = fresh(File, record.id)
    assert (saved.focal_x, saved.focal_y) == (None, None)


def test_documents_have_no_alt_text_or_focal_point(browser, login_as):
    editor = login_as("editor")
    record = stored(PDF, "paper.pdf", editor)
    page = text(browser.get(edit_url(record)))
    for name in ("alt_text", "decorative", "focal_x", "focal_y"):
        assert f'name="{name}"' not in page, name
    assert submit_admin(browser, edit_url(record), {"original_name": "Paper"}).status_code == 302


def test_too_long_alt_text_is_refused(browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor)
    response = submit_admin(browser, edit_url(record), {"alt_text": "x" * 1001})
    assert response.status_code == 400
    assert fresh(File, record.id).alt_text == ""


# --- Where a file is used ------------------------------------------------------------------


def test_details_and_edit_pages_list_the_posts_and_pages_using_the_file(browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor, alt_text="A photo")
    post = make_post(editor, title="Harbour <news>", body=image_markdown(record))
    page = make_post(editor, title="About us", kind=PostKind.PAGE, social_image=record)
    unused = stored(image_bytes(color=(1, 2, 3)), "unused.png", editor)

    for url in (f"/admin/files/details/?id={record.id}", edit_url(record)):
        html = text(browser.get(url))
        assert f'<a href="/admin/posts/edit/?id={post.id}">Harbour &lt;news&gt;</a>' in html, url
        assert f'<a href="/admin/pages/edit/?id={page.id}">About us</a>' in html, url
    assert "Not used in any post or page." in text(browser.get(edit_url(unused)))


def test_delete_of_a_used_file_is_refused_with_the_posts(app, browser, login_as):
    editor = login_as("editor")
    record = stored(image_bytes(), "photo.png", editor, alt_text="A photo")
    make_post(editor, title="Harbour news", body=image_markdown(record))
    make_post(editor, title="Old news", status=PostStatus.TRASHED, body=image_markdown(record))
    names = stored_files(app)

    response = delete_row(browser, FILES, record.id)
    assert response.status_code == 302
    message = flashed(browser.get(response.headers["Location"]))
    assert "Nothing was deleted" in message
    assert "“photo.png” is used by “Harbour news”, “Old news”" in message
    assert row_exists(File, record.id) and stored_files(app) == names


def test_bulk_delete_deletes_nothing_when_one_file_is_used(app, browser, login_as):
    editor = login_as("editor")
    used = stored(image_bytes(color=(1, 1, 1)), "used.png", editor, alt_text="Used")
    free = stored(image_bytes(color=(2, 2, 2)), "free.png", editor)
    make_post(editor, title="Showcase", body=image_markdown(used))
    names = stored_files(app)

    response = bulk_action(browser, FILES, "delete", [used.id, free.id])
    assert response.status_code == 302
    assert "“used.png” is used by “Showcase”" in flashed(browser.get(FILES))
    assert row_exists(File, used.id) and row_exists(File, free.id)
    assert stored_files(app) == names

    # Without the used one, the rest goes.
    free_id = free.id
    assert bulk_action(browser, FILES, "delete", [free_id]).status_code == 302
    assert not row_exists(File, free_id)


def test_a_spare_copy_may_be_deleted_while_another_copy_stays(app, browser, login_as):
    editor = login_as("editor")
    data = image_bytes()
    kept = stored(data, "kept.png", editor, alt_text="Kept")
    spare = stored(data, "spare.png", editor)
    post = make_post(editor, title="Showcase", body=image_markdown(kept))

    spare_id, kept_id, name = spare.id, kept.id, kept.stored_name
    assert delete_row(browser, FILES, spare_id).status_code == 302
    assert not row_exists(File, spare_id) and row_exists(File, kept_id)
    assert name in stored_files(app)
    assert fresh(Post, post.id).status == PostStatus.PUBLISHED


def test_duplicate_upload_through_the_form_stores_one_object(app, browser, login_as):
    login_as("author")
    data = image_bytes("PNG", size=(80, 60))
    assert upload(browser, data, "one.png").status_code == 302
    assert upload(browser, data, "two.png").status_code == 302
    records = db.session.scalars(select(File).order_by(File.id)).all()
    assert [r.original_name for r in records] == ["one.png", "two.png"]
    assert len({r.stored_name for r in records}) == 1
    assert stored_files(app) == {records[0].stored_name, records[0].thumbnail_name}


# --- Publishing needs alt text -------------------------------------------------------------


def test_publishing_in_the_form_is_refused_until_images_have_alt_text(browser, login_as):
    editor = login_as("editor")
    photo = stored(image_bytes(), "harbour.png", editor)
    post = make_post(editor, title="Harbour", status=PostStatus.DRAFT)
    url = f"/admin/posts/edit/?id={post.id}"

    response = submit_admin(browser, url, {"body_md": image_markdown(photo), "status": "published"})
    assert response.status_code in (200, 400)
    assert "every image needs alt text" in text(response)
    assert "“harbour.png”" in text(response)
    assert fresh(Post, post.id).status == PostStatus.DRAFT

    # Saved as a draft, it is fine; described, it is published.
    assert submit_admin(browser, url, {"body_md": image_markdown(photo)}).status_code == 302
    submit_admin(browser, edit_url(photo), {"alt_text": "Boats in the harbour"})
    assert submit_admin(browser, url, {"status": "published"}).status_code == 302
    assert fresh(Post, post.id).status == PostStatus.PUBLISHED


def test_new_post_published_in_the_form_needs_alt_text_too(browser, login_as):
    editor = login_as("editor")
    photo = stored(image_bytes(), "new.png", editor)
    response = submit_admin(
        browser,
        "/admin/posts/new/",
        {"title": "Fresh", "body_md": image_markdown(photo), "status": "published"},
    )
    assert "every image needs alt text" in text(response)
    assert db.session.scalar(select(func.count(Post.id))) == 0


def test_publish_button_is_refused_with_the_message(browser, login_as):
    editor = login_as("editor")
    photo = stored(image_bytes(), "button.png", editor)
    post = make_post(editor, status=PostStatus.REVIEW, body=image_markdown(photo))
    page = text(browser.get(f"/admin/posts/edit/?id={post.id}"))
    response = browser.client.post(
        f"/admin/posts/workflow/{post.id}/",
        data={"csrf_token": csrf_token_from(page), "transition": "publish",
              "version": str(post.version)},
    )  # fmt: skip
    assert response.status_code == 302
    assert "“button.png”" in flashed(browser.get(response.headers["Location"]))
    assert fresh(Post, post.id).status == PostStatus.REVIEW


def test_bulk_publish_publishes_nothing_when_one_image_lacks_alt(browser, login_as):
    editor = login_as("editor")
    described = stored(image_bytes(color=(1, 1, 1)), "described.png", editor, alt_text="Fine")
    bare = stored(image_bytes(color=(2, 2, 2)), "bare.png", editor)
    good = make_post(editor, status=PostStatus.REVIEW, body=image_markdown(described))
    bad = make_post(editor, status=PostStatus.REVIEW, social_image=bare)

    response = bulk_action(browser, "/admin/posts/", "publish", [good.id, bad.id])
    assert response.status_code == 302
    assert "“bare.png”" in flashed(browser.get(response.headers["Location"]))
    assert {fresh(Post, p.id).status for p in (good, bad)} == {PostStatus.REVIEW}

    assert bulk_action(browser, "/admin/posts/", "publish", [good.id]).status_code == 302
    assert fresh(Post, good.id).status == PostStatus.PUBLISHED


def test_pages_need_alt_text_as_well(browser, login_as):
    editor = login_as("editor")
    photo = stored(image_bytes(), "team.png", editor)
    page = make_post(editor, title="Team", kind=PostKind.PAGE, status=PostStatus.DRAFT)
    response = submit_admin(
        browser,
        f"/admin/pages/edit/?id={page.id}",
        {"body_md": image_markdown(photo), "status": "published"},
    )
    assert "“team.png”" in text(response)
    assert fresh(Post, page.id).status == PostStatus.DRAFT


# --- Who sees and changes what -------------------------------------------------------------


def test_authors_see_files_of_published_posts_but_change_only_their_own(app, browser, login_as):
    login_as("author")
    editor = make_user("editor@example.com", roles=("editor",))
    public = stored(image_bytes(color=(1, 1, 1)), "public.png", editor, alt_text="Public")
    hidden = stored(image_bytes(color=(2, 2, 2)), "hidden.png", editor)
    make_post(editor, title="Live", body=image_markdown(public))
    make_post(editor, title="Secret draft", status=PostStatus.DRAFT, body=image_markdown(hidden))

    listing = text(browser.get(FILES))
    assert "public.png" in listing and "hidden.png" not in listing
    assert browser.get(f"/admin/files/details/?id={public.id}").status_code == 200
    assert browser.get(f"/admin/files/details/?id={hidden.id}").status_code == 404
    assert browser.get(edit_url(public)).status_code == 404
    assert delete_row(browser, FILES, public.id).status_code == 404
    assert bulk_action(browser, FILES, "delete", [public.id]).status_code == 404
    assert row_exists(File, public.id)


def test_authors_are_not_told_the_titles_of_posts_they_cannot_open(browser, login_as):
    author = login_as("author")
    editor = make_user("editor@example.com", roles=("editor",))
    mine = stored(image_bytes(), "mine.png", author)
    make_post(editor, title="Secret draft", status=PostStatus.DRAFT, body=image_markdown(mine))

    details = text(browser.get(f"/admin/files/details/?id={mine.id}"))
    assert "Secret draft" not in details and "1 more item you cannot open" in details
    response = delete_row(browser, FILES, mine.id)
    message = flashed(browser.get(response.headers["Location"]))
    assert "1 more item you cannot open" in message and "Secret draft" not in message
    assert row_exists(File, mine.id)


# --- Quotas --------------------------------------------------------------------------------


def test_upload_over_the_quota_is_refused_with_the_limit(app, browser, login_as, monkeypatch):
    login_as("admin")
    monkeypatch.setitem(app.config, "MAX_FILES_PER_USER", 1)
    assert upload(browser, image_bytes(color=(1, 1, 1)), "one.png").status_code == 302
    response = upload(browser, image_bytes(color=(2, 2, 2)), "two.png")
    assert response.status_code == 400
    assert "You have reached your limit of 1 file." in text(response)
    assert db.session.scalar(select(func.count(File.id))) == 1


def test_changing_alt_text_updates_published_html_without_staling_open_forms(
    browser, login_as, client
):
    editor = login_as("editor")
    photo = stored(image_bytes(), "lake.png", editor, alt_text="A lake")
    # No alt text in the Markdown: the library's is used.
    post = make_post(editor, title="Lake", body=f"![](/uploads/{photo.stored_name})")
    version = post.version
    assert 'alt="A lake"' in client.get(f"/posts/{post.slug}").get_data(as_text=True)

    assert submit_admin(browser, edit_url(photo), {"alt_text": "A lake at dawn"}).status_code == 302
    page = client.get(f"/posts/{post.slug}").get_data(as_text=True)
    assert 'alt="A lake at dawn"' in page
    # Only the stored HTML changed: an edit form opened before stays valid.
    assert fresh(Post, post.id).version == version
