"""The dashboard home and base template: counts, recent work, chart, navbar, local assets."""

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

from sqlalchemy import event

from cms.extensions import db
from cms.models import PostStatus, utcnow
from cms.services.dashboard import month_starts, published_per_month
from cms.services.media import store_upload
from tests.admin.admin_helpers import text
from tests.factories import PASSWORD, image_bytes, make_post, make_user
from tests.helpers import Browser


def count_on(page: str, key: str) -> int:
    """Return the number shown on one of the dashboard's count cards."""
    match = re.search(rf'cms-count-{key}">\s*<div class="card-body">\s*<p[^>]*>(\d+)</p>', page)
    assert match, f"no {key} count"
    return int(match.group(1))


def chart_rows(page: str) -> list[tuple[str, int]]:
    """Return (month, count) from the chart's table alternative."""
    table = page.split('class="sr-only cms-chart-table"', 1)[1].split("</table>", 1)[0]
    found = re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', table)
    return [(month, int(count)) for month, count in found]


def make_content(author, other):
    """Posts in every state, for two authors."""
    now = utcnow()
    make_post(author, title="A draft", status=PostStatus.DRAFT)
    make_post(author, title="Live one", published_at=now - timedelta(days=1))
    make_post(other, title="Other live", published_at=now - timedelta(days=2))
    make_post(other, title="Other old", published_at=now - timedelta(days=400))
    make_post(other, title="Coming soon", published_at=now + timedelta(days=3))


def test_editor_sees_counts_recent_edits_files_and_chart(browser, login_as):
    editor = login_as("editor")
    author = make_user("writer@example.com", roles=("author",))
    make_content(author, editor)
    store_upload(db.session, image_bytes(), "picture.png", author)
    db.session.commit()

    page = text(browser.get("/admin/"))

    assert (count_on(page, "draft"), count_on(page, "published"), count_on(page, "scheduled")) == (
        1,
        3,
        1,
    )
    assert "Coming soon" in page and "A draft" in page  # recent edits, everyone's
    assert "picture.png" in page
    rows = chart_rows(page)
    assert len(rows) == 12
    # Two posts went out in the last few days; the 400-day-old and the scheduled one do not count.
    assert sum(count for _month, count in rows) == 2
    assert '<svg class="cms-chart"' in page and 'aria-hidden="true"' in page
    assert "/admin/posts/?flt0_status_equals=draft" in page


def test_author_sees_only_own_counts_and_edits(browser, login_as):
    author = login_as("author")
    other = make_user("other@example.com", roles=("editor",))
    make_content(author, other)

    page = text(browser.get("/admin/"))

    assert (count_on(page, "draft"), count_on(page, "published"), count_on(page, "scheduled")) == (
        1,
        1,
        0,
    )
    assert "A draft" in page and "Live one" in page
    assert "Other live" not in page and "Coming soon" not in page
    # The own published post links to its read-only details, the draft to the editor.
    assert re.search(r'href="/admin/posts/details/\?id=\d+">Live one', page)
    assert re.search(r'href="/admin/posts/edit/\?id=\d+">A draft', page)


def test_published_per_month_counts_the_last_twelve_months(ctx):
    author = make_user("writer@example.com", roles=("author",))
    now = utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    make_post(author, published_at=this_month)
    make_post(author, published_at=this_month - timedelta(days=1))  # last month
    make_post(author, published_at=this_month - timedelta(days=330))
    make_post(author, status=PostStatus.DRAFT)
    make_post(author, published_at=now + timedelta(days=1))  # scheduled: not yet
    make_post(author, published_at=now - timedelta(days=800))

    months = published_per_month(now)

    assert [month for month, _ in months] == month_starts(now.date())
    assert months[-1][1] == 1 and months[-2][1] == 1
    assert sum(count for _, count in months) == 3


def test_chart_is_kept_until_a_post_changes(variant):
    application = variant(PAGE_CACHE_IN_TESTS=True, PAGE_CACHE_TYPE="filesystem")
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with application.app_context():
        author = make_user("writer@example.com", roles=("author",))
        make_post(author, published_at=utcnow() - timedelta(hours=1))
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with application.test_request_context("/admin/"):
                first = published_per_month()
                counted = len(seen)
                assert published_per_month() == first
                assert len(seen) == counted, "the second visit counted the posts again"
            make_post(author, published_at=utcnow() - timedelta(minutes=5))  # purges "posts"
            with application.test_request_context("/admin/"):
                assert sum(number for _, number in published_per_month()) == 2
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.remove()
    assert sum(number for _, number in first) == 1


def test_month_starts_cross_the_year():
    starts = month_starts(date(2026, 2, 17), 4)
    assert starts == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_dashboard_refuses_readers_and_sends_visitors_to_login(browser, client, login_as):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/account/login"
    login_as("reader")
    assert browser.get("/admin/").status_code == 403


def test_navbar_has_site_link_name_language_and_post_logout(browser, login_as):
    login_as("editor", display_name="Erin Editor")
    page = text(browser.get("/admin/posts/"))
    # The site's name leads to the public site; no separate "View site" link.
    assert '<a class="navbar-brand cms-brand" href="/"' in page
    assert "View site" not in page
    assert "Erin Editor" in page
    language = page.split('class="cms-language-form"', 1)[1].split("</form>", 1)[0]
    assert 'action="/language"' in language and 'name="csrf_token"' in language
    assert 'name="next" value="/admin/posts/?"' in language
    assert 'name="language" value="de"' in language
    logout = page.split('class="cms-logout-form"', 1)[1].split("</form>", 1)[0]
    assert 'method="post" action="/account/logout"' in logout and 'name="csrf_token"' in logout


def test_navbar_groups_content_and_people_by_role(browser, login_as):
    login_as("editor")
    page = text(browser.get("/admin/posts/"))
    menu = page.split('class="navbar-nav mr-auto cms-main-nav"', 1)[1].split("</ul>", 1)[0]
    # Content is one click away, the current view marked for screen readers.
    for label in ("Dashboard", "Posts", "Pages", "Tags", "Navigation", "Files", "Trash"):
        assert f">{label}</a>" in menu, label
    assert 'href="/admin/posts/" aria-current="page">Posts</a>' in menu
    # People (users, roles, audit log) is for admins only.
    assert "People" not in menu and "/admin/users/" not in page
    browser.logout()
    login_as("admin")
    menu = text(browser.get("/admin/")).split('cms-main-nav"', 1)[1].split("</ul>", 1)[0]
    people = menu.split(">People</button>", 1)[1]
    for label in ("Users", "Roles", "Audit log"):
        assert f">{label}</a>" in people, label


def test_language_switch_from_the_dashboard(browser, login_as):
    login_as("editor")
    form = browser.form("/admin/", match="/language")
    response = browser.client.post("/language", data=dict(form["fields"], language="de"))
    assert response.status_code == 302 and urlsplit(response.location).path == "/admin/"
    page = text(browser.get("/admin/posts/"))
    assert ">Suche</button>" in page  # Flask-Admin's own German catalog
    assert '<html lang="de">' in page


def test_every_dashboard_asset_is_served_by_the_app(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor)
    for url in ("/admin/", "/admin/posts/", f"/admin/posts/edit/?id={post.id}", "/admin/files/"):
        page = text(browser.get(url))
        assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page)
        assert assets, url
        for asset in assets:
            assert asset.startswith("/"), (url, asset)
            assert not asset.startswith("//"), (url, asset)
            response = browser.get(asset)
            response.close()
            assert response.status_code == 200, (url, asset)


def test_dashboard_and_account_pages_carry_the_icons(browser, login_as):
    login_as("editor")
    for url in ("/admin/", "/admin/posts/", "/account/settings", "/account/tf-setup"):
        page = text(browser.get(url))
        assert '<link rel="icon" href="/static/favicon.ico" type="image/x-icon">' in page, url
        touch = '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png" sizes="180x180">'
        assert touch in page, url
    for url in ("/static/favicon.ico", "/favicon.ico", "/static/apple-touch-icon.png"):
        response = browser.get(url)
        assert response.status_code == 200, url
        response.close()


def test_the_icons_follow_the_settings(variant):
    custom = variant(FAVICON="brand/icon.svg", TOUCH_ICON="")
    with custom.app_context():
        make_user("icons@example.com", roles=("editor",))
    browser = Browser(custom, custom.test_client())
    browser.login("icons@example.com", PASSWORD)
    page = text(browser.get("/admin/"))
    assert '<link rel="icon" href="/static/brand/icon.svg" type="image/svg+xml">' in page
    assert "apple-touch-icon" not in page
