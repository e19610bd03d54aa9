"""Comparing two versions of a post or page: which fields differ, and how, ready to show.

`compare(old, new)` takes two snapshots (dicts as made by `revisions.snapshot`, or anything
with the same keys, such as the text of a form) and returns one `FieldChange` per field that
differs. Long texts get a line diff of the changed parts only, with a few lines of context,
line numbers and, inside a changed line, the changed words marked. Every piece of HTML is built
with markupsafe, so what people typed is always escaped.
"""

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from cms.extensions import db
from cms.models import File, PostStatus, User
from cms.services import revisions

# Fields shown as a line diff; the others are short and shown side by side.
LONG_TEXT = ("body_md", "excerpt", "meta_description")
# Short texts whose changed words are marked.
SHORT_TEXT = ("title", "slug", "meta_title", "canonical_url")
# Unchanged lines shown around each change.
CONTEXT_LINES = 3
# At most this many diff lines per field are shown (a body replaced as a whole stays usable).
MAX_LINES = 3000
# Lines longer than this (in words and spaces) are marked as a whole, not word by word.
MAX_WORDS = 4000

LABELS = {
    "title": _l("Title"),
    "slug": _l("Address"),
    "body_md": _l("Body"),
    "excerpt": _l("Excerpt"),
    "status": _l("Status"),
    "published_at": _l("Publication time"),
    "unpublish_at": _l("Unpublish time"),
    "meta_title": _l("Title for search engines"),
    "meta_description": _l("Description for search engines"),
    "canonical_url": _l("Canonical address"),
    "social_image_id": _l("Image for social media"),
    "author_id": _l("Author"),
    "tags": _l("Tags"),
}
STATUS_LABELS = {
    PostStatus.DRAFT.value: _l("Draft"),
    PostStatus.REVIEW.value: _l("In review"),
    PostStatus.PUBLISHED.value: _l("Published"),
    PostStatus.TRASHED.value: _l("In the trash"),
}
WORD = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass
class DiffLine:
    """One line of a line diff: unchanged ("context"), "removed" or "added"."""

    kind: str
    old_number: int | None
    new_number: int | None
    html: Markup


@dataclass
class Hunk:
    """A run of changed lines with their context."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """Return where the hunk is, for the reader ("Lines 10–16 before, 10–17 after")."""
        return _(
            "Lines %(old)s before, %(new)s after",
            old=_span(self.old_start, self.old_end),
            new=_span(self.new_start, self.new_end),
        )


@dataclass
class FieldChange:
    """One field that differs between two versions, with what to show for it."""

    name: str
    label: str
    # The values as they are (for restoring), and as escaped HTML (for showing).
    old_value: object
    new_value: object
    old: Markup
    new: Markup
    # Long texts: the changed parts, line by line.
    hunks: list[Hunk] | None = None
    # Tags: the names taken away and added.
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    # Something to say instead of (or besides) a diff, e.g. only the line endings differ.
    note: str = ""
    # More changed lines than MAX_LINES: the rest is not shown.
    truncated: bool = False

    @property
    def is_long(self) -> bool:
        """Return whether this field is shown as a line diff."""
        return self.hunks is not None

    @property
    def is_tags(self) -> bool:
        """Return whether this is the tags field."""
        return self.name == "tags"

    @property
    def restorable(self) -> bool:
        """Return whether a restore can give this field back."""
        return self.name in revisions.RESTORABLE


def compare(old: dict, new: dict) -> list[FieldChange]:
    """Return the fields that differ between two snapshots, in the order revisions list them."""
    changes = []
    for name in (*revisions.FIELDS, "tags"):
        if name not in old and name not in new:
            continue
        before, after = old.get(name), new.get(name)
        if name == "tags":
            change = _tags_change(before or [], after or [])
        elif _empty(before) and _empty(after) or before == after:
            change = None
        elif name in LONG_TEXT:
            change = _text_change(name, str(before or ""), str(after or ""))
        else:
            change = _short_change(name, before, after)
        if change is not None:
            changes.append(change)
    return changes


# --- Values as people read them ---------------------------------------------------------------


def _empty(value) -> bool:
    """Return whether a value means "nothing" (None and "" are the same to readers)."""
    return value is None or value == ""


def empty_marker() -> Markup:
    """Return the sign for an empty value."""
    return Markup('<span class="text-muted cms-diff-empty">{}</span>').format(_("(empty)"))


def display(name: str, value) -> Markup:
    """Return a field's value as escaped HTML in the reader's language and time zone."""
    if _empty(value):
        return empty_marker()
    if isinstance(value, datetime):
        return escape(format_datetime(value, "short"))
    if name == "status":
        return escape(STATUS_LABELS.get(str(value), str(value)))
    if name == "social_image_id":
        found = db.session.get(File, value)
        if found is None:
            return escape(_("File %(id)s (deleted)", id=value))
        return escape(found.original_name)
    if name == "author_id":
        person = db.session.get(User, value)
        if person is None:
            return escape(_("Account %(id)s (deleted)", id=value))
        return escape(person.name)
    if name == "tags":
        return escape(", ".join(tag_names(value))) or empty_marker()
    return escape(str(value))


def tag_names(tags) -> list[str]:
    """Return the names of a snapshot's tags, sorted."""
    return sorted(str(tag["name"]) for tag in tags or [])


def _short_change(name: str, before, after) -> FieldChange:
    """Return the change of a short field; words are marked when both sides are text."""
    texts = isinstance(before, str) and isinstance(after, str) and before and after
    if name in SHORT_TEXT and texts:
        old_html, new_html = inline_diff(before, after)
    else:
        old_html, new_html = display(name, before), display(name, after)
    return FieldChange(name, str(LABELS[name]), before, after, old_html, new_html)


def _tags_change(before: list, after: list) -> FieldChange | None:
    """Return the change of the tags (compared by name), or None if they are the same."""
    old_names, new_names = tag_names(before), tag_names(after)
    if old_names == new_names:
        return None
    removed = sorted(set(old_names) - set(new_names))
    added = sorted(set(new_names) - set(old_names))
    return FieldChange(
        "tags",
        str(LABELS["tags"]),
        before,
        after,
        _tag_list(old_names, removed, "del"),
        _tag_list(new_names, added, "ins"),
        removed=removed,
        added=added,
    )


def _tag_list(names: list[str], marked: list[str], element: str) -> Markup:
    """Return tag names, comma-separated, with the removed or added ones marked."""
    if not names:
        return empty_marker()
    return Markup(", ").join(
        _mark(element, name) if name in marked else escape(name) for name in names
    )


# --- Line and word diffs ----------------------------------------------------------------------


def _span(start: int, end: int) -> str:
    """Return a range of 1-based line numbers ("4–9", "4", or "–" for none)."""
    if end <= start:
        return "–"
    if end - start == 1:
        return str(start + 1)
    return f"{start + 1}–{end}"


def _mark(element: str, text: str) -> Markup:
    """Return removed (`del`) or added (`ins`) text, announced as such to screen readers."""
    if element == "del":
        return Markup('<del><span class="sr-only">{} </span>{}</del>').format(_("removed:"), text)
    return Markup('<ins><span class="sr-only">{} </span>{}</ins>').format(_("added:"), text)


def inline_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """Return two lines as HTML, with the words removed from the first and added to the second
    marked (`<del>`, `<ins>`)."""
    old_words, new_words = WORD.findall(old), WORD.findall(new)
    if len(old_words) > MAX_WORDS or len(new_words) > MAX_WORDS:
        return _mark("del", old) if old else Markup(""), _mark("ins", new) if new else Markup("")
    matcher = difflib.SequenceMatcher(None, old_words, new_words)
    before, after = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(old_words[i1:i2]), "".join(new_words[j1:j2])
        if tag == "equal":
            before.append(escape(removed))
            after.append(escape(added))
            continue
        if removed:
            before.append(_mark("del", removed))
        if added:
            after.append(_mark("ins", added))
    return Markup("").join(before), Markup("").join(after)


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Return difflib opcodes; the common start and end are matched first, so one changed line
    in a long text costs little and never turns the whole text into one change."""
    size = min(len(old), len(new))
    head = 0
    while head < size and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < size - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    middle = difflib.SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail]
    ).get_opcodes()
    codes = [("equal", 0, head, 0, head)] if head else []
    for tag, i1, i2, j1, j2 in middle:
        codes.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        codes.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    # Neighbouring equal runs (empty middle) are merged, as difflib's own grouping expects.
    merged: list[tuple[str, int, int, int, int]] = []
    for code in codes:
        if code[0] == "equal" and code[1] == code[2]:
            continue
        if merged and merged[-1][0] == code[0] == "equal":
            last = merged.pop()
            code = ("equal", last[1], code[2], last[3], code[4])
        merged.append(code)
    return merged


def _grouped(codes: list, context: int) -> list[list]:
    """Return the opcodes in groups of changes with up to `context` lines around each
    (difflib.SequenceMatcher.get_grouped_opcodes, over our own opcodes)."""
    if not codes or all(code[0] == "equal" for code in codes):
        return []
    codes = list(codes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    span = context + context
    groups, group = [], []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > span:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def line_diff(old: str, new: str, context: int = CONTEXT_LINES) -> tuple[list[Hunk], bool]:
    """Return the changed parts of two texts as hunks, and whether some were left out."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    hunks, shown = [], 0
    for group in _grouped(_opcodes(old_lines, new_lines), context):
        hunk = Hunk(group[0][1], group[-1][2], group[0][3], group[-1][4])
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset in range(i2 - i1):
                    text = escape(old_lines[i1 + offset])
                    hunk.lines.append(DiffLine("context", i1 + offset + 1, j1 + offset + 1, text))
                continue
            removed, added = old_lines[i1:i2], new_lines[j1:j2]
            paired = min(len(removed), len(added)) if tag == "replace" else 0
            marked = [inline_diff(removed[k], added[k]) for k in range(paired)]
            for k, text in enumerate(removed):
                html = marked[k][0] if k < paired else _mark("del", text) if text else Markup("")
                hunk.lines.append(DiffLine("removed", i1 + k + 1, None, html))
            for k, text in enumerate(added):
                html = marked[k][1] if k < paired else _mark("ins", text) if text else Markup("")
                hunk.lines.append(DiffLine("added", None, j1 + k + 1, html))
        shown += len(hunk.lines)
        if shown > MAX_LINES:
            hunk.lines = hunk.lines[: max(0, len(hunk.lines) - (shown - MAX_LINES))]
            if hunk.lines:
                hunks.append(hunk)
            return hunks, True
        hunks.append(hunk)
    return hunks, False


def _text_change(name: str, before: str, after: str) -> FieldChange:
    """Return the change of a long text, as a line diff."""
    hunks, truncated = line_diff(before, after)
    note = ""
    if not hunks:
        # splitlines() hides "\r\n" against "\n" and a line break at the very end.
        note = _("Only the line breaks differ (for example Windows and Unix line endings).")
    elif truncated:
        note = _(
            "The changes are too long to show in full; only the first %(num)d lines are shown.",
            num=MAX_LINES,
        )
    return FieldChange(
        name,
        str(LABELS[name]),
        before,
        after,
        display(name, before),
        display(name, after),
        hunks=hunks,
        note=note,
        truncated=truncated,
    )
