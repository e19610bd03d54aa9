"""Comparing versions: which fields differ, line diffs of long texts, escaping, speed."""

import time
from datetime import datetime

import pytest
from flask_babel import format_datetime

from cms.services import diff, revisions


def snap(**fields) -> dict:
    """Return a snapshot like revisions.snapshot() makes, with some fields set."""
    data = dict.fromkeys(revisions.FIELDS, "")
    data.update(
        status="draft",
        published_at=None,
        unpublish_at=None,
        social_image_id=None,
        author_id=None,
        tags=[],
    )
    data.update(fields)
    return data


@pytest.fixture
def request_ctx(app):
    """A request context: translations, time zones and templates need one."""
    with app.test_request_context("/admin/"):
        yield


def render(app, changes, old_label="Revision 1", new_label="Current version") -> str:
    """Return the render_diff macro's HTML for these changes."""
    module = app.jinja_env.get_template("admin/revisions/_diff.html").module
    return str(module.render_diff(changes, old_label, new_label))


def test_same_content_has_no_changes(request_ctx):
    assert diff.compare(snap(title="A", body_md="x\ny"), snap(title="A", body_md="x\ny")) == []
    # None and "" are both "empty" to a reader.
    assert diff.compare(snap(meta_title=None), snap(meta_title="")) == []


def test_changes_come_in_field_order_with_labels(request_ctx):
    old = snap(title="Old title", slug="old", body_md="a", status="draft")
    new = snap(title="New title", slug="new", body_md="b", status="published")
    changes = diff.compare(old, new)
    assert [c.name for c in changes] == ["title", "slug", "body_md", "status"]
    assert [c.label for c in changes] == ["Title", "Address", "Body", "Status"]
    status = changes[-1]
    assert (status.old_value, status.new_value) == ("draft", "published")
    assert (str(status.old), str(status.new)) == ("Draft", "Published")
    assert [c.name for c in changes if c.is_long] == ["body_md"]


def test_short_text_marks_changed_words(request_ctx):
    (change,) = diff.compare(snap(title="The quick fox"), snap(title="The slow fox"))
    assert "The <del>" in change.old and "quick</del> fox" in change.old
    assert "The <ins>" in change.new and "slow</ins> fox" in change.new
    # Screen readers are told what was removed and added.
    assert '<span class="sr-only">removed: </span>' in change.old
    assert '<span class="sr-only">added: </span>' in change.new


def test_tags_added_and_removed_by_name(request_ctx):
    old = snap(tags=[{"id": 1, "name": "Python"}, {"id": 2, "name": "Flask"}])
    new = snap(tags=[{"id": 1, "name": "Python"}, {"id": 9, "name": "Django"}])
    (change,) = diff.compare(old, new)
    assert change.is_tags and change.restorable
    assert (change.removed, change.added) == (["Flask"], ["Django"])
    assert "<del>" in change.old and "Flask</del>" in change.old
    assert "<ins>" in change.new and "Django</ins>" in change.new
    # The same names under other ids are the same tags.
    same = snap(tags=[{"id": 7, "name": "Python"}, {"id": 8, "name": "Flask"}])
    assert diff.compare(old, same) == []


def test_times_are_formatted_for_the_reader(request_ctx):
    when = datetime(2024, 3, 5, 14, 30)
    (change,) = diff.compare(snap(published_at=None), snap(published_at=when))
    assert str(change.new) == format_datetime(when, "short")
    assert "(empty)" in change.old


def test_one_changed_line_in_a_long_body_shows_a_few_lines(app, request_ctx):
    lines = [f"Line {number} of a long Markdown body, with some words." for number in range(5000)]
    old = "\n".join(lines)
    lines[2500] = "Line 2500 of a long Markdown body, with other words."
    new = "\n".join(lines)
    assert len(old) > 200_000

    started = time.perf_counter()
    (change,) = diff.compare(snap(body_md=old), snap(body_md=new))
    html = render(app, [change])
    elapsed = time.perf_counter() - started

    assert elapsed < 5
    (hunk,) = change.hunks
    assert [line.kind for line in hunk.lines] == ["context"] * 3 + ["removed", "added"] + [
        "context"
    ] * 3
    assert [line.old_number for line in hunk.lines] == [2498, 2499, 2500, 2501, None] + [
        2502,
        2503,
        2504,
    ]
    assert hunk.lines[4].new_number == 2501
    assert "<del>" in hunk.lines[3].html and "some</del>" in hunk.lines[3].html
    assert "<ins>" in hunk.lines[4].html and "other</ins>" in hunk.lines[4].html
    assert "Lines 2498–2504 before, 2498–2504 after" in html
    kinds = ("context", "removed", "added")
    assert sum(html.count(f'<tr class="cms-diff-{kind}">') for kind in kinds) == 8
    assert "Line 10 of" not in html


def test_repeated_lines_do_not_turn_into_one_big_change(request_ctx):
    old = "same\n" * 3000
    new = "same\n" * 1500 + "different\n" + "same\n" * 1499
    (change,) = diff.compare(snap(body_md=old), snap(body_md=new))
    assert sum(len(hunk.lines) for hunk in change.hunks) <= 8


def test_far_apart_changes_make_separate_hunks(request_ctx):
    lines = [f"line {n}" for n in range(100)]
    changed = list(lines)
    changed[10], changed[80] = "changed ten", "changed eighty"
    changed.insert(50, "inserted")
    (change,) = diff.compare(snap(body_md="\n".join(lines)), snap(body_md="\n".join(changed)))
    assert len(change.hunks) == 3
    assert [line.kind for line in change.hunks[1].lines].count("added") == 1


def test_text_added_to_an_empty_field(request_ctx):
    (change,) = diff.compare(snap(excerpt=""), snap(excerpt="one\ntwo"))
    (hunk,) = change.hunks
    assert [(line.kind, line.new_number) for line in hunk.lines] == [("added", 1), ("added", 2)]


def test_only_line_endings_differ(app, request_ctx):
    (change,) = diff.compare(snap(body_md="a\r\nb\r\n"), snap(body_md="a\nb"))
    assert change.hunks == []
    assert "line breaks" in change.note
    assert "line breaks" in render(app, [change])


def test_a_body_replaced_as_a_whole_is_cut_to_a_readable_length(request_ctx):
    old = "\n".join(f"old {n}" for n in range(5000))
    new = "\n".join(f"new {n}" for n in range(5000))
    (change,) = diff.compare(snap(body_md=old), snap(body_md=new))
    assert change.truncated and change.note
    assert sum(len(hunk.lines) for hunk in change.hunks) == diff.MAX_LINES


def test_everything_shown_is_escaped(app, request_ctx):
    old = snap(title="Safe", body_md="Hello\nworld", tags=[])
    new = snap(
        title="<script>alert(1)</script>",
        body_md="Hello\n<script>alert('body')</script> & <b>bold</b>",
        meta_description='"><img src=x onerror=alert(2)>',
        tags=[{"id": 1, "name": "<i>tag</i>"}],
    )
    changes = diff.compare(old, new)
    html = render(app, changes, "<b>old</b>", "New")
    assert "<script>" not in html
    assert "<img" not in html and "<b>" not in html and "<i>tag" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold" in html
    assert "&lt;b&gt;old&lt;/b&gt;" in html


def test_the_macro_is_an_accessible_table(app, request_ctx):
    changes = diff.compare(snap(title="A", body_md="x"), snap(title="B", body_md="y"))
    html = render(app, changes, "Their version", "Your text")
    assert html.count("<caption") == 2
    assert '<th scope="col">Their version</th>' in html
    assert '<th scope="row">Title</th>' in html
    assert 'scope="rowgroup"' in html
    assert '<span class="sr-only">Removed line</span>' in html
    assert '<span class="sr-only">Added line</span>' in html
    # Without a block there is no actions column.
    assert "cms-diff-actions" not in html


def test_the_macro_says_when_nothing_differs(app, request_ctx):
    assert "No differences" in render(app, [])
