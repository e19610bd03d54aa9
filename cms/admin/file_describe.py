"""Alt text right after an upload: one page asks for each new image's description.

The upload form and the drop zone lead here with the ids of the images just stored
(`/admin/files/describe/?ids=3,4`). Each image gets a text box and a "Decorative" box; saving
needs one of them for every image (or the person skips for now: the list then marks the image
"No alt text", and a post showing it cannot be published).
"""

from dataclasses import dataclass

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_security import current_user

from cms.admin.base import parse_id, return_url_target
from cms.extensions import db
from cms.models import File
from cms.services import audit, media_access, rerender
from cms.services.media import MAX_ALT_LENGTH, clean_alt_text
from cms.services.roles import can_change_file

# The most images one page asks about (an upload of more lists the rest in the library).
MAX_DESCRIBED = 50


@dataclass
class Entry:
    """One image on the page: the file, what was typed, and the error to show with it."""

    record: File
    alt: str
    decorative: bool
    error: str = ""

    @property
    def thumbnail(self) -> str | None:
        """Return the signed address of the image's thumbnail."""
        name = self.record.thumbnail_name
        return media_access.dashboard_url(name) if name else None


def describe_ids(records) -> str:
    """Return the `ids` argument naming the images among `records` (the first MAX_DESCRIBED)."""
    images = [record for record in records if record.is_image][:MAX_DESCRIBED]
    return ",".join(str(record.id) for record in images)


class DescribeMixin:
    """The describe page of the Files view."""

    describe_template = "admin/files/describe.html"

    def describe_url(self, records, return_url: str) -> str | None:
        """Return the describe page for the images among `records`; None when there are none."""
        ids = describe_ids(records)
        return self.get_url(".describe_view", ids=ids, url=return_url) if ids else None

    def _described_files(self) -> list[File]:
        """Return the images the address names that this person may change, in that order."""
        raw = (request.args.get("ids") or "").split(",")
        wanted = list(dict.fromkeys(parse_id(ident.strip()) for ident in raw if ident.strip()))
        if not wanted or len(wanted) > MAX_DESCRIBED:
            abort(404)
        found = {record.id: record for record in self.get_query().filter(File.id.in_(wanted))}
        records = [found[ident] for ident in wanted if ident in found]
        return [r for r in records if r.is_image and can_change_file(current_user, r)]

    @expose("/describe/", methods=("GET", "POST"))
    def describe_view(self):
        """Ask for the alt text of each new image; save them all at once, or none."""
        return_url = return_url_target() or self.get_url(".index_view")
        records = self._described_files()
        if not records:
            return redirect(return_url)
        if request.method != "POST":
            entries = [Entry(r, r.alt_text or "", r.decorative) for r in records]
            return self._render_describe(entries, return_url)
        entries = [
            Entry(
                r,
                request.form.get(f"alt-{r.id}", ""),
                request.form.get(f"decorative-{r.id}") == "y",
            )
            for r in records
        ]
        for entry in entries:
            entry.error = self._describe_error(entry)
        if any(entry.error for entry in entries):
            flash(_("Nothing was saved: please correct the images marked below."), "error")
            return self._render_describe(entries, return_url), 400
        for entry in entries:
            record = entry.record
            alt, decorative = clean_alt_text(entry.alt), entry.decorative
            if (record.alt_text, record.decorative) != (alt, decorative):
                record.alt_text, record.decorative = alt, decorative
                audit.record("update", record, audit.shorten(f"alt: {alt}"))
                rerender.rerender_users(record)
        db.session.commit()
        flash(
            ngettext("%(num)d image described.", "%(num)d images described.", len(entries)),
            "success",
        )
        return redirect(return_url)

    def _describe_error(self, entry: Entry) -> str:
        """Return why an image's answer is refused; "" when it is fine."""
        if len(entry.alt) > MAX_ALT_LENGTH:
            return _("Keep the alt text under %(num)d characters.", num=MAX_ALT_LENGTH)
        if not entry.decorative and not clean_alt_text(entry.alt):
            return _("Describe the image, or mark it as decorative.")
        return ""

    def _render_describe(self, entries: list[Entry], return_url: str):
        """Return the describe page."""
        return self.render(
            self.describe_template, entries=entries, return_url=return_url, limit=MAX_ALT_LENGTH
        )
