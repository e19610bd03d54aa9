"""The audit log: dashboard writes and account events are recorded, append-only, admin-only."""

import csv
import io

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, AuditLogIsAppendOnly, Post, PostStatus, Role, Tag, User
from cms.services import audit
from tests.accounts import change_password
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import csrf_token_from

NEW_PASSWORD = "an entirely new passphrase for audits"


def events(action=None) -> list[AuditEvent]:
    """Return the recorded events (of one action), oldest first."""
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def login_admin(browser) -> User:
    admin = make_user("admin@example.com", roles=("admin",))
    assert browser.login("admin@example.com", PASSWORD).status_code == 302
    return admin


def action_post(browser, url, action, ids):
    """Post a bulk action from the list page with its CSRF token."""
    token = csrf_token_from(browser.get(url).get_data(as_text=True))
    data = {"csrf_token": token, "action": action, "rowid": [str(i) for i in ids]}
    return browser.client.post(f"{url}action/", data=data)


# --- Account events -----------------------------------------------------------------------


def test_login_logout_and_failures_are_recorded(app, browser, ctx):
    user = make_user("reader@example.com")
    browser.login("reader@example.com", "a wrong password entirely")
    browser.login("nobody@example.com", "a wrong password entirely")
    assert browser.login("reader@example.com", PASSWORD).status_code == 302
    browser.logout()

    failed = events("login_failed")
    assert len(failed) == 2
    assert failed[0].actor_id == user.id and failed[0].object_id == str(user.id)
    assert failed[1].actor_id is None and "nobody@example.com" in failed[1].summary
    login = events("login")[0]
    assert login.actor_email == "reader@example.com" and login.ip == "127.0.0.1"
    assert events("logout")[0].actor_id == user.id
    # Never a password in the log.
    for event in events():
        assert "a wrong password entirely" not in event.summary
        assert PASSWORD not in event.summary


def test_login_without_csrf_is_not_a_failed_login(app, client, ctx):
    make_user("reader@example.com")
    response = client.post("/account/login", data={"email": "reader@example.com", "password": "x"})
    assert response.status_code == 400
    assert events() == []


def test_password_change_is_recorded(app, browser, ctx):
    user = make_user("mover@example.com")
    browser.login("mover@example.com", PASSWORD)
    response = change_password(browser, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    change = events("password_change")
    assert len(change) == 1 and change[0].actor_id == user.id
    assert NEW_PASSWORD not in change[0].summary
    # The silent re-login after the change is not a second login.
    assert len(events("login")) == 1


def test_password_reset_is_recorded(app, browser, ctx):
    user = make_user("forgetful@example.com")
    browser.submit("/account/reset", {"email": "forgetful@example.com"}, match="/account/reset")
    link = browser.mailed_link("/account/reset/")
    response = browser.submit(
        link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, match="/account/reset"
    )
    assert response.status_code == 302
    reset = events("password_reset")
    assert len(reset) == 1 and reset[0].actor_id == user.id


def test_two_factor_signals_are_recorded(app, ctx):
    from flask_security.signals import tf_disabled, tf_profile_changed

    user = make_user("careful@example.com", roles=("admin",))
    with app.test_request_context("/account/tf-setup", method="POST"):
        tf_profile_changed.send(app, user=user, method="authenticator")
        tf_disabled.send(app, user=user)
        db.session.commit()
    recorded = events("two_factor_change")
    assert [event.summary for event in recorded] == [
        "method: authenticator",
        "two-factor disabled",
    ]


# --- Dashboard writes ---------------------------------------------------------------------


def test_create_update_delete_in_the_dashboard_are_recorded_with_a_diff(app, browser, ctx):
    admin = login_admin(browser)
    browser.submit("/admin/tags/new/", {"name": "Science", "slug": ""}, match="/admin/tags/new/")
    tag_id = db.session.scalars(select(Tag.id).where(Tag.name == "Science")).one()
    browser.submit(f"/admin/tags/edit/?id={tag_id}", {"name": "Physics"}, match="/admin/tags/edit/")
    token = csrf_token_from(browser.get("/admin/tags/").get_data(as_text=True))
    browser.client.post("/admin/tags/delete/", data={"id": tag_id, "csrf_token": token})

    created, updated, deleted = events("create")[0], events("update")[0], events("delete")[0]
    assert (created.object_type, created.object_id) == ("Tag", str(tag_id))
    assert "name: ∅ -> Science" in created.summary
    assert updated.summary == "name: Science -> Physics"
    assert deleted.summary == "Physics" and deleted.actor_id == admin.id


def test_a_refused_save_records_nothing(app, browser, ctx):
    login_admin(browser)
    make_tag("Taken")
    response = browser.submit("/admin/tags/new/", {"name": "Taken"}, match="/admin/tags/new/")
    assert response.status_code == 200
    assert events("create") == []


def test_role_and_password_changes_of_users_are_recorded_without_the_password(app, browser, ctx):
    login_admin(browser)
    person = make_user("person@example.com", roles=("author",))
    editor_role = db.session.scalars(select(Role).where(Role.name == "editor")).one()
    browser.submit(
        f"/admin/users/edit/?id={person.id}",
        {"roles": str(editor_role.id), "new_password": NEW_PASSWORD},
        match="/admin/users/edit/",
    )
    roles = events("roles")
    assert len(roles) == 1 and roles[0].summary == "roles: [author] -> [editor]"
    update = events("update")[0]
    assert "new_password: changed" in update.summary
    everything = "\n".join(event.summary for event in events())
    assert NEW_PASSWORD not in everything and "$2b$" not in everything


def test_bulk_actions_and_uploads_are_recorded(app, browser, ctx):
    login_admin(browser)
    author = make_user("writer@example.com", roles=("author",))
    drafts = [make_post(author, title=f"Draft {n}", status=PostStatus.DRAFT) for n in range(2)]
    ids = [post.id for post in drafts]
    assert action_post(browser, "/admin/posts/", "publish", ids).status_code == 302
    published = events("bulk:publish")
    assert {event.object_id for event in published} == {str(i) for i in ids}
    assert published[0].summary == "status: draft -> published"
    assert action_post(browser, "/admin/posts/", "unpublish", ids[:1]).status_code == 302
    assert len(events("bulk:unpublish")) == 1
    assert action_post(browser, "/admin/posts/", "delete", ids).status_code == 302
    assert len(events("bulk:trash")) == 2
    assert set(db.session.scalars(select(Post.status))) == {PostStatus.TRASHED}

    form = browser.form("/admin/files/new/")
    data = {**form["fields"], "upload": (io.BytesIO(image_bytes()), "photo.png")}
    response = browser.client.post("/admin/files/new/", data=data)
    assert response.status_code == 302
    upload = events("upload")
    assert len(upload) == 1 and "photo.png" in upload[0].summary
    assert upload[0].object_type == "File" and upload[0].object_id


# --- Append-only, kept when the actor goes, admin-only view, export -----------------------


def test_events_cannot_be_changed_or_deleted(app, ctx):
    user = make_user("someone@example.com")
    event = audit.record("create", user, "x", actor=user)
    db.session.commit()
    event.summary = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert events()[0].summary == "x"


def test_the_actor_email_stays_when_the_account_is_deleted(app, ctx):
    user = make_user("leaver@example.com")
    audit.record("login", user, actor=user)
    db.session.commit()
    db.session.delete(user)
    db.session.commit()
    event = events()[0]
    assert event.actor_id is None and event.actor_email == "leaver@example.com"


def test_the_audit_view_is_read_only_newest_first_and_filterable(app, browser, ctx):
    login_admin(browser)
    make_tag("Old")
    for n in range(3):
        audit.record("update", None, f"event {n}", object_type="Tag")
    db.session.commit()
    page = browser.get("/admin/audit/").get_data(as_text=True)
    assert "/admin/audit/new/" not in page and "/admin/audit/edit/" not in page
    assert browser.get("/admin/audit/new/").status_code in (302, 403, 404)
    newest = events()[-1]
    details = browser.get(f"/admin/audit/details/?id={newest.id}").get_data(as_text=True)
    assert "event 2" in details
    filtered = browser.get("/admin/audit/?flt0_action_equals=login").get_data(as_text=True)
    assert f"id={newest.id}" not in filtered
    listing = browser.get("/admin/audit/?flt0_action_equals=update").get_data(as_text=True)
    assert listing.index(f"id={events()[-1].id}") < listing.index(f"id={events()[-3].id}")


@pytest.mark.parametrize("role", ["author", "editor"])
def test_the_audit_view_is_admin_only(app, browser, ctx, role):
    make_user(f"{role}@example.com", roles=(role,))
    browser.login(f"{role}@example.com", PASSWORD)
    assert browser.get("/admin/audit/").status_code == 403
    assert browser.get("/admin/audit/export/csv/").status_code == 403


def test_the_audit_export_defuses_formulas(app, browser, ctx):
    login_admin(browser)
    audit.record("update", None, '=HYPERLINK("http://evil.example","x")', object_type="Post")
    db.session.commit()
    response = browser.get("/admin/audit/export/csv/")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert "Changes" in rows[0]
    summaries = [row[rows[0].index("Changes")] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","x")' in summaries


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), (3, 3), (None, None)],
)  # fmt: skip
def test_defuse_formula(value, expected):
    from cms.admin.base import defuse_formula

    assert defuse_formula(value) == expected
