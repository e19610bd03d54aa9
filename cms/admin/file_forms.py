"""The Files view's forms: uploads (one file or several) and a file's edit form."""

import math
from dataclasses import dataclass, field

from flask_admin.form import BaseForm
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.models import File
from cms.services.media import MAX_ALT_LENGTH


class UploadForm(BaseForm):
    """New uploads: one file or several, and optionally the name to show for a single one."""

    upload = MultipleFileField(
        _l("Files"),
        [InputRequired()],
        description=_l("Choose one or more files; each is checked and stored on its own."),
    )
    original_name = StringField(
        _l("Display name"),
        [Optional(), Length(max=255)],
        description=_l("Leave empty to use the file's own name (used for a single file only)."),
    )


@dataclass
class UploadReport:
    """What became of the files of one upload request."""

    stored: list[File] = field(default_factory=list)
    # (file name, reason) of each file refused.
    refused: list[tuple[str, str]] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """Return one "name — reason" line per refused file."""
        return [
            _("%(name)s — %(reason)s", name=name, reason=reason) for name, reason in self.refused
        ]

    def summary(self) -> str:
        """Return "3 uploaded, 1 refused: name — reason", or "3 files uploaded." if none was."""
        if not self.refused:
            return ngettext("%(num)d file uploaded.", "%(num)d files uploaded.", len(self.stored))
        return _(
            "%(uploaded)s, %(refused)s: %(details)s",
            uploaded=ngettext("%(num)d uploaded", "%(num)d uploaded", len(self.stored)),
            refused=ngettext("%(num)d refused", "%(num)d refused", len(self.refused)),
            details="; ".join(self.reasons()),
        )


class FractionField(StringField):
    """A share of an image's width or height: a number from 0 to 1, or a percentage."""

    def process_formdata(self, valuelist):
        """Read "0.25", "0,25", "25%" or "25 %" as 0.25; empty as None."""
        self.data = None
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip().replace(" ", "").replace(",", ".")
        if not text:
            return
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            value = math.nan
        if percent:
            value /= 100
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(
                _("Enter a number from 0 to 1 (such as 0.25) or a percentage (such as 25%).")
            )
        self.data = value

    def _value(self) -> str:
        """Show the stored fraction as a percentage (what was typed, after an error)."""
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{format_decimal(self.data * 100, format='0.#')}%"


class RenameForm(BaseForm):
    """Changing a file: its display name; for images also alt text and focal point."""

    original_name = StringField(_l("Display name"), [InputRequired(), Length(max=255)])
    alt_text = TextAreaField(
        _l("Alt text"),
        [Optional(), Length(max=MAX_ALT_LENGTH)],
        description=_l(
            "What the image shows, in a sentence, for people who cannot see it. Every image in "
            "a published post needs this, or must be marked as decorative."
        ),
        render_kw={"rows": 2},
    )
    decorative = BooleanField(
        _l("Decorative image"),
        description=_l("Adds nothing to the text around it: screen readers skip it."),
    )
    focal_x = FractionField(
        _l("Focal point, across"),
        description=_l(
            "Where the subject is, from the left edge: 0 to 1 or a percentage (50% is the "
            "middle). Crops keep it in view. Leave both empty for the middle."
        ),
    )
    focal_y = FractionField(
        _l("Focal point, down"),
        description=_l("Where the subject is, from the top edge: 0 to 1 or a percentage."),
    )

    def validate_focal_y(self, field) -> None:
        """Take the focal point as a pair: both values or neither."""
        if field.process_errors or self.focal_x.process_errors:
            return
        if (self.focal_x.data is None) != (field.data is None):
            raise ValidationError(
                _("Set both focal point values, or clear both (crops then keep the middle).")
            )
