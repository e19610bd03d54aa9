"""No lost update: a save over a newer version is refused, says who and when, keeps the text."""

from cms.extensions import db
from cms.models import Post, PostStatus, Revision
from tests.admin.admin_helpers import form_fields, text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import Browser

LONG_BODY = "\n".join(f"Line {number} of a long body." for number in range(400))


def edit_url(post) -> str:
    """Return the dashboard edit address of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def revision_count(post) -> int:
    """Return how many revisions the post has."""
    return db.session.scalar(
        db.select(db.func.count(Revision.id)).where(Revision.post_id == post.id)
    )


def two_editors(app):
    """Return two logged-in editors, Anna and Ben, each in their own browser."""
    people = []
    for name in ("Anna", "Ben"):
        make_user(f"{name.lower()}@example.com", roles=("editor",), display_name=name)
        browser = Browser(app, app.test_client())
        assert browser.login(f"{name.lower()}@example.com", PASSWORD).status_code == 302
        people.append(browser)
    return people


def test_stale_save_is_refused_with_who_when_and_the_diff(app, ctx):
    anna, ben = two_editors(app)
    post = make_post(make_user("w@example.com", roles=("author",)), body=LONG_BODY)
    loaded_by_ben = form_fields(ben, edit_url(post))

    anna_fields = form_fields(anna, edit_url(post))
    anna_fields["body_md"] = LONG_BODY.replace("Line 200 of", "Anna's line 200 of")
    assert anna.client.post(edit_url(post), data=anna_fields).status_code == 302
    after_anna = fresh(post)
    count = revision_count(post)

    loaded_by_ben["title"] = "Ben's title"
    loaded_by_ben["body_md"] = LONG_BODY.replace("Line 300 of", "Ben's line 300 of")
    response = ben.client.post(edit_url(post), data=loaded_by_ben)
    assert response.status_code == 409
    page = text(response)
    assert "Anna changed this item at" in page
    # Ben's text is still in the form, and the difference is shown, line by line.
    assert "Ben&#39;s title" in page or "Ben's title" in page
    assert "Ben&#39;s line 300 of" in page or "Ben's line 300 of" in page
    assert "Their version compared with your text" in page
    # Anna's change is intact and nothing else was written.
    stored = fresh(post)
    assert stored.body_md == after_anna.body_md
    assert (stored.title, stored.version) == (after_anna.title, after_anna.version)
    assert revision_count(post) == count


def test_saving_again_after_the_conflict_replaces_deliberately(app, ctx):
    anna, ben = two_editors(app)
    post = make_post(make_user("w@example.com", roles=("author",)))
    stale = form_fields(ben, edit_url(post))
    fields = form_fields(anna, edit_url(post))
    anna.client.post(edit_url(post), data=dict(fields, title="Anna's title"))

    refused = ben.client.post(edit_url(post), data=dict(stale, title="Ben's title"))
    assert refused.status_code == 409
    # The refused page carries the current version: saving it again is Ben's choice now.
    from tests.helpers import parse_forms

    again = next(form for form in parse_forms(text(refused)) if "version" in form["fields"])[
        "fields"
    ]
    assert again["title"] == "Ben's title"
    assert ben.client.post(edit_url(post), data=again).status_code == 302
    assert fresh(post).title == "Ben's title"
    # Anna's version stays in the history.
    titles = db.session.scalars(
        db.select(Revision.title).where(Revision.post_id == post.id).order_by(Revision.number)
    ).all()
    assert "Anna's title" in titles and titles[-1] == "Ben's title"


def test_double_clicked_save_stores_one_revision(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor)
    fields = form_fields(browser, edit_url(post))
    fields["body_md"] = "Typed once, sent twice."
    before = revision_count(post)
    first = browser.client.post(edit_url(post), data=fields)
    second = browser.client.post(edit_url(post), data=fields)
    assert (first.status_code, second.status_code) == (302, 302)
    assert revision_count(post) == before + 1
    assert fresh(post).body_md == "Typed once, sent twice."


def test_missing_or_junk_version_is_refused(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor)
    for version in ("", "abc", "-1", "999999"):
        fields = form_fields(browser, edit_url(post))
        fields.update(version=version, title=f"Attempt {version!r}")
        response = browser.client.post(edit_url(post), data=fields)
        assert response.status_code == 409, version
    assert fresh(post).title == post.title


def test_author_conflict_with_editor(app, ctx):
    author = make_user("author@example.com", roles=("author",), display_name="Aki")
    post = make_post(author, status=PostStatus.DRAFT)
    writer = Browser(app, app.test_client())
    writer.login("author@example.com", PASSWORD)
    stale = form_fields(writer, edit_url(post))
    make_user("ed@example.com", roles=("editor",), display_name="Edda")
    editor = Browser(app, app.test_client())
    editor.login("ed@example.com", PASSWORD)
    fields = form_fields(editor, edit_url(post))
    editor.client.post(edit_url(post), data=dict(fields, excerpt="Tightened by Edda."))

    response = writer.client.post(edit_url(post), data=dict(stale, title="Aki's new title"))
    assert response.status_code == 409
    assert "Edda changed this item" in text(response)
    assert fresh(post).excerpt == "Tightened by Edda."
