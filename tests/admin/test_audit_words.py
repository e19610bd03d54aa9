"""The audit log in words: who did what to which item, linked while it exists, filterable."""

from datetime import timedelta

from flask_security.signals import tf_profile_changed
from sqlalchemy import event as sql_events
from werkzeug.local import LocalProxy

from cms.extensions import db
from cms.models import AuditEvent, PostStatus, utcnow
from cms.services import audit
from tests.admin.admin_helpers import bulk_action, delete_row, text
from tests.factories import make_post, make_tag, make_user
from tests.helpers import csrf_token_from

AUDIT = "/admin/audit/"


def test_publishing_reads_as_a_sentence_with_a_link(browser, login_as):
    login_as("admin", display_name="Ann")
    writer = make_user("bob@example.com", roles=("author",), display_name="Bob")
    post = make_post(writer, title="Spring sale", status=PostStatus.REVIEW)
    page = text(browser.get(f"/admin/posts/edit/?id={post.id}"))
    token = csrf_token_from(page)
    response = browser.client.post(
        f"/admin/posts/workflow/{post.id}/",
        data={"csrf_token": token, "transition": "publish", "version": str(post.version)},
    )
    assert response.status_code == 302
    listing = text(browser.get(AUDIT))
    assert (
        f'<strong>Ann</strong> published <a href="/admin/posts/edit/?id={post.id}">'
        "“Spring sale”</a>" in listing
    )
    # No raw identifiers in the list.
    assert "workflow:publish" not in listing


def test_two_factor_changes_name_the_user_not_a_proxy(app, ctx):
    user = make_user("careful@example.com", roles=("admin",), display_name="Bob")
    with app.test_request_context("/account/tf-setup", method="POST"):
        # Flask-Security hands over current_user, a proxy, as the user.
        tf_profile_changed.send(app, user=LocalProxy(lambda: user), method="authenticator")
        db.session.commit()
    stored = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action.like("two_factor%")))
    assert stored.object_type == "User" and stored.object_id == str(user.id)
    assert stored.actor_id == user.id


def test_two_factor_event_reads_as_a_sentence(browser, login_as):
    admin = login_as("admin", display_name="Ann")
    bob = make_user("bob@example.com", roles=("editor",), display_name="Bob")
    audit.record("two_factor_change", bob, "method: authenticator", actor=bob)
    # What older versions stored for the same event.
    audit.record("two_factor_change", None, "two-factor disabled", actor=admin,
                 object_type="LocalProxy")  # fmt: skip
    db.session.commit()
    listing = text(browser.get(AUDIT))
    assert "<strong>Bob</strong> changed their two-factor method" in listing
    assert "<strong>Ann</strong> turned off two-factor authentication" in listing
    assert "LocalProxy" not in listing
    old = db.session.scalar(db.select(AuditEvent).where(AuditEvent.object_type == "LocalProxy"))
    assert "LocalProxy" not in text(browser.get(f"{AUDIT}details/?id={old.id}"))


def test_a_deleted_item_shows_its_last_name_without_a_link(browser, login_as):
    login_as("admin", display_name="Ann")
    tag = make_tag("Short-lived")
    ident = tag.id
    assert delete_row(browser, "/admin/tags/", ident).status_code == 302
    listing = text(browser.get(AUDIT))
    assert "<strong>Ann</strong> deleted “Short-lived”" in listing
    assert f"/admin/tags/edit/?id={ident}" not in listing


def test_trash_and_restore_link_to_where_the_post_is(browser, login_as):
    editor = login_as("editor", display_name="Eve")
    post = make_post(editor, title="Back and forth")
    bulk_action(browser, "/admin/posts/", "delete", [post.id])
    browser.logout()
    login_as("admin", display_name="Ann")
    listing = text(browser.get(AUDIT))
    assert (
        f'<strong>Eve</strong> moved <a href="/admin/trash/details/?id={post.id}">'
        "“Back and forth”</a> to trash" in listing
    )


def count_queries(browser, url) -> tuple[int, str]:
    """Return how many SQL statements one page costs, and the page."""
    statements = []

    def counted(*_args):
        statements.append(1)

    sql_events.listen(db.engine, "before_cursor_execute", counted)
    try:
        page = text(browser.get(url))
    finally:
        sql_events.remove(db.engine, "before_cursor_execute", counted)
    return len(statements), page


def test_the_log_page_costs_the_same_with_few_or_many_kinds_of_rows(browser, login_as):
    admin = login_as("admin")
    post = make_post(admin, title="One")
    audit.record("update", post, "title: a -> b")
    db.session.commit()
    few, _page = count_queries(browser, AUDIT)
    for number in range(20):
        item = make_post(admin, title=f"Post {number}")
        tag = make_tag(f"Tag {number}")
        person = make_user(f"p{number}@example.com", roles=("author",))
        audit.record("update", item, "title: a -> b", actor=person)
        audit.record("create", tag, "", actor=person)
    db.session.commit()
    many, page = count_queries(browser, AUDIT)
    assert "“Post 19”" in page
    # One query per kind of object and one for the people, not one per row.
    assert many <= few + 2, (few, many)


def test_filters_by_person_action_and_time(browser, login_as):
    admin = login_as("admin", display_name="Ann")
    other = make_user("bob@example.com", roles=("editor",), display_name="Bob")
    post = make_post(admin, title="Filtered")
    audit.record("workflow:publish", post, "", actor=other)
    audit.record("update", post, "title: a -> b", actor=admin)
    db.session.commit()
    page = text(browser.get(AUDIT))
    # Filter names in words; the options are read per request.
    for words in ("Person", "Action", "Time", "Published", "Moved to trash"):
        assert words in page
    by_person = text(browser.get(f"{AUDIT}?flt0_person_equals={other.id}"))
    assert "<strong>Bob</strong> published" in by_person
    assert "<strong>Ann</strong> changed" not in by_person
    by_action = text(browser.get(f"{AUDIT}?flt0_action_equals=publish"))
    assert "<strong>Bob</strong> published" in by_action and "changed “" not in by_action
    later = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    after = browser.get(f"{AUDIT}?flt0_time_after={later}")
    assert after.status_code == 200 and "Filtered" not in text(after)
    # Hostile filter values: the list, not an error.
    assert browser.get(f"{AUDIT}?flt0_action_equals=%27%3B--").status_code == 200
    assert browser.get(f"{AUDIT}?flt0_person_equals=-1").status_code == 200
