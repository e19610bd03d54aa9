"""Times in the writer's own time zone: typed and shown there, stored in UTC (naive).

Also the native picker (it never fills in a time by itself), the account setting, and the
dashboard's dates in the person's zone.
"""

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import Post, PostStatus, User
from tests.admin.admin_helpers import form_fields, submit_admin, text
from tests.factories import make_post
from tests.helpers import csrf_token_from


def edit_url(post) -> str:
    """Return the edit form's address of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def in_zone(user, zone: str) -> None:
    """Set a person's time zone."""
    db.session.get(User, user.id).timezone = zone
    db.session.commit()


def input_tag(page: str, name: str) -> str:
    """Return the <input> tag of a field."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert found, name
    return found[0]


@pytest.mark.parametrize(
    ("zone", "typed", "stored"),
    [
        # Summer time (UTC+2) and winter time (UTC+1) in Berlin.
        ("Europe/Berlin", "2030-07-01T12:00", datetime(2030, 7, 1, 10, 0)),
        ("Europe/Berlin", "2030-01-15T12:00", datetime(2030, 1, 15, 11, 0)),
        # New York: UTC-4 in summer, UTC-5 in winter.
        ("America/New_York", "2030-07-01T12:00", datetime(2030, 7, 1, 16, 0)),
        ("America/New_York", "2030-01-15T12:00", datetime(2030, 1, 15, 17, 0)),
        # The repeated hour when summer time ends: the first of the two (still summer time).
        ("Europe/Berlin", "2030-10-27T02:30", datetime(2030, 10, 27, 0, 30)),
    ],
)
def test_times_are_typed_in_the_writers_zone_and_stored_in_utc(
    browser, login_as, zone, typed, stored
):
    editor = login_as("editor")
    in_zone(editor, zone)
    post = make_post(editor, status=PostStatus.DRAFT)
    fields = {"published_at": typed, "workflow": "schedule"}
    assert submit_admin(browser, edit_url(post), fields).status_code == 302
    assert fresh(post).published_at == stored
    # Shown again as the writer typed it.
    page = text(browser.get(edit_url(post)))
    assert f'value="{typed}"' in input_tag(page, "published_at")
    assert f"Times in {zone}." in page


def test_a_time_the_clocks_skip_is_a_clear_error(browser, login_as):
    editor = login_as("editor")
    in_zone(editor, "Europe/Berlin")
    post = make_post(editor, status=PostStatus.DRAFT)
    fields = {"published_at": "2030-03-31T02:30", "workflow": "schedule"}
    response = submit_admin(browser, edit_url(post), fields)
    assert response.status_code == 200
    assert "does not exist in Europe/Berlin" in text(response)
    assert fresh(post).status == PostStatus.DRAFT and fresh(post).published_at is None


def test_new_york_writer_sees_a_berlin_writers_time_in_their_own_zone(app, browser, login_as):
    editor = login_as("editor")
    in_zone(editor, "America/New_York")
    post = make_post(editor, status=PostStatus.PUBLISHED, published_at=datetime(2030, 7, 1, 10, 0))
    assert form_fields(browser, edit_url(post))["published_at"] == "2030-07-01T06:00"
    in_zone(editor, "")
    # Empty: the site's zone (UTC in the tests).
    assert form_fields(browser, edit_url(post))["published_at"] == "2030-07-01T10:00"


def test_the_picker_never_fills_in_a_time(browser, login_as):
    editor = login_as("editor")
    page = text(browser.get("/admin/posts/new/"))
    for name in ("published_at", "unpublish_at"):
        tag = input_tag(page, name)
        assert 'type="datetime-local"' in tag and 'value=""' in tag
        # Not Flask-Admin's daterangepicker, which wrote "now" into a field only focused.
        assert "datetimepicker" not in tag and "data-role" not in tag
    post = make_post(editor, status=PostStatus.DRAFT)
    assert form_fields(browser, edit_url(post))["published_at"] == ""
    # Saving without touching it leaves it empty.
    assert submit_admin(browser, edit_url(post), {"workflow": "save"}).status_code == 302
    assert fresh(post).published_at is None


def test_junk_times_are_form_errors(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    for junk in ("tomorrow", "2030-13-01T10:00", "9" * 500):
        fields = {"published_at": junk, "workflow": "schedule"}
        response = submit_admin(browser, edit_url(post), fields)
        assert response.status_code == 200, junk
        assert "Enter a date and time" in text(response)
    assert fresh(post).status == PostStatus.DRAFT


def test_the_dashboard_shows_times_in_the_persons_zone(browser, login_as):
    editor = login_as("editor")
    make_post(editor, title="Timed", published_at=datetime(2020, 7, 1, 10, 0))
    # The exact time on hover is local; the machine-readable value stays in UTC.
    assert 'title="Jul 1, 2020, 10:00:00' in text(browser.get("/admin/posts/"))
    in_zone(editor, "Europe/Berlin")
    listing = text(browser.get("/admin/posts/"))
    assert 'title="Jul 1, 2020, 12:00:00' in listing and "2020, 10:00" not in listing
    assert '<time datetime="2020-07-01T10:00:00Z"' in listing


# --- The account setting -----------------------------------------------------------------


def test_the_time_zone_is_chosen_on_the_account_page(browser, login_as):
    editor = login_as("editor")
    page = text(browser.get("/account/settings"))
    assert '<optgroup label="Europe">' in page and "Europe/Berlin" in page
    response = browser.submit("/account/settings", {"timezone": "Europe/Berlin"}, match="settings")
    assert response.status_code == 303
    assert db.session.get(User, editor.id).timezone == "Europe/Berlin"
    assert "Times are now shown in Europe/Berlin" in text(browser.get("/account/settings"))
    # Back to the site's zone.
    browser.submit("/account/settings", {"timezone": ""}, match="settings")
    db.session.expire_all()
    assert db.session.get(User, editor.id).timezone == ""


@pytest.mark.parametrize("junk", ["Mars/Olympus", "../../etc/localtime", "x" * 200, "EST"])
def test_unknown_time_zones_are_refused(browser, login_as, junk):
    editor = login_as("reader")
    response = browser.submit("/account/settings", {"timezone": junk}, match="settings")
    assert response.status_code == 400
    assert "Please choose a time zone from the list." in text(response)
    db.session.expire_all()
    assert db.session.get(User, editor.id).timezone == ""


def test_the_account_setting_needs_a_login_and_a_token(client, login_as, browser):
    assert client.get("/account/settings").status_code in (302, 401)
    editor = login_as("editor")
    refused = browser.client.post("/account/settings", data={"timezone": "Europe/Berlin"})
    assert refused.status_code == 400
    token = csrf_token_from(text(browser.get("/account/settings")))
    assert token
    db.session.expire_all()
    assert db.session.get(User, editor.id).timezone == ""
    assert db.session.scalars(select(User.timezone)).all() == [""]


@pytest.mark.parametrize(
    "stored",
    [
        # The second 02:30 of the night summer time ends in Berlin (01:30 UTC, winter time).
        datetime(2030, 10, 27, 1, 30),
        # Seconds and microseconds, as "Publish now" stores them.
        datetime(2030, 7, 1, 9, 0, 37, 120000),
    ],
)
def test_saving_with_the_time_field_untouched_keeps_the_stored_time(browser, login_as, stored):
    """Shown to the minute and as wall-clock time, an untouched field must not move the time."""
    editor = login_as("editor")
    in_zone(editor, "Europe/Berlin")
    post = make_post(editor, status=PostStatus.PUBLISHED, published_at=stored)
    fields = form_fields(browser, edit_url(post))
    fields.update({"title": "A typo fixed", "workflow": "update"})
    assert submit_admin(browser, edit_url(post), fields).status_code == 302
    assert fresh(post).title == "A typo fixed"
    assert fresh(post).published_at == stored
