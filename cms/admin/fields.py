"""Form fields: references limited to the rows offered, local times, tags typed in."""

import json
import re
from datetime import datetime

from flask import has_request_context
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.form import Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from markupsafe import Markup
from wtforms import Field
from wtforms.validators import ValidationError
from wtforms.widgets import DateTimeLocalInput, html_params

from cms.models import Tag
from cms.services import tags
from cms.services.timezones import (
    NonexistentTime,
    from_utc,
    site_zone_name,
    to_utc,
    zone_name_of,
)

# Flask-Admin's value of the blank choice; browsers may also send an empty value.
BLANK_VALUES = ("", "__None")
NOT_OFFERED = _l("This choice is not available to you. Please choose one from the list.")


class ListedQuerySelectField(QuerySelectField):
    """A QuerySelectField that refuses a submitted id outside its choices.

    Flask-Admin's field, when it allows a blank choice, turns an id that is not among the
    choices (another person's private file, a deleted row, "abc", "-1") silently into "none",
    which clears the reference. Here such a value is a form error, and nothing is saved.
    The choices are the field's query, which the form or view limits to what this person
    may see, so the list shown and the values accepted are decided by the same query.
    """

    submitted: str | None = None

    def process_formdata(self, valuelist) -> None:
        """Remember the submitted value before the field looks it up among its choices."""
        self.submitted = valuelist[0] if valuelist else None
        super().process_formdata(valuelist)

    def pre_validate(self, form) -> None:
        """Refuse a submitted value that names none of the choices."""
        if self.submitted not in (None, *BLANK_VALUES) and self.data is None:
            raise ValidationError(str(NOT_OFFERED))
        if self.submitted in BLANK_VALUES and not self.allow_blank:
            raise ValidationError(str(NOT_OFFERED))
        super().pre_validate(form)


class ListedQuerySelectMultipleField(QuerySelectMultipleField):
    """A QuerySelectMultipleField that refuses submitted ids outside its choices.

    Flask-Admin's field drops such ids silently (it checks for them before it has looked the
    values up), so a crafted or stale id would vanish instead of being reported.
    """

    def pre_validate(self, form) -> None:
        """Look the submitted values up first, then refuse any that names none of the choices."""
        self.data  # noqa: B018 (reading the values marks the ones not among the choices)
        if self._invalid_formdata:
            raise ValidationError(str(NOT_OFFERED))
        super().pre_validate(form)


# --- Times in the writer's own time zone ---------------------------------------------------

# What <input type="datetime-local"> sends (seconds when the browser shows them), and the
# "2026-12-03 09:00:00" of forms and scripts that type a space.
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


class LocalDateTimeInput(DateTimeLocalInput):
    """A native date and time picker: the browser's own, which fills in nothing by itself.

    (Flask-Admin's daterangepicker wrote "now" into an empty field that was only focused.)
    """

    def __call__(self, field, **kwargs):
        """Render the input with minute steps."""
        kwargs.setdefault("step", "60")
        return super().__call__(field, **kwargs)


class LocalDateTimeField(Field):
    """A time typed and shown in the person's time zone, kept as naive UTC in `data`.

    The zone is the logged-in person's (their own or the site's), read when the form is built,
    since the posted text is converted right then. A wall-clock time the clocks skip (the lost
    hour when summer time starts) is a form error, not a guess.
    """

    widget = LocalDateTimeInput()

    @property
    def zone_name(self) -> str:
        """Return the zone times are typed in: the person's, or the site's outside a request."""
        if has_request_context():
            return zone_name_of(current_user)
        return site_zone_name()

    def _shown(self, value) -> str:
        """Return how a stored UTC time is shown in the field: wall-clock time, to the minute."""
        local = from_utc(value, self.zone_name)
        return local.strftime("%Y-%m-%dT%H:%M") if local else ""

    def _value(self) -> str:
        """Show the stored UTC time as wall-clock time of the person's zone (or what was typed)."""
        if self.raw_data:
            return self.raw_data[0]
        return self._shown(self.data)

    def process_formdata(self, valuelist) -> None:
        """Read the typed wall-clock time and keep it as UTC; empty is None.

        A field sent back as it was shown keeps the stored time exactly: shown to the minute
        and as wall-clock time, it would otherwise lose its seconds, and in the hour that
        happens twice when summer time ends it could move by an hour.
        """
        self.data = None
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip()
        if not text:
            return
        stored = getattr(self, "object_data", None)
        if stored is not None and text == self._shown(stored):
            self.data = stored
            return
        local = None
        for pattern in LOCAL_FORMATS:
            try:
                local = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        if local is None:
            raise ValueError(_("Enter a date and time such as 2026-12-03 09:00."))
        try:
            self.data = to_utc(local, self.zone_name)
        except NonexistentTime:
            raise ValueError(
                _(
                    "%(time)s does not exist in %(zone)s: the clocks skip that hour when summer "
                    "time starts. Please choose another time.",
                    time=local.strftime("%Y-%m-%d %H:%M"),
                    zone=self.zone_name,
                )
            ) from None


# --- Tags, new ones typed in ----------------------------------------------------------------

# A new tag's value: "new:<name>". Flask-Admin's select2 tags input (form.js, data-role
# "select2-tags" with data-allow-duplicate-tags) sends a typed name as "<name>#<timestamp> ";
# both are names, never ids. Bare digits are the id of an existing tag; other bare text is a
# name for people who may create tags (typed without script), a wrong id for everyone else.
NEW_TAG_PREFIX = "new:"
SELECT2_NEW_TAG = re.compile(r"^(?P<name>.+)#[0-9]{10,} ?$", re.DOTALL)
TAG_ID = re.compile(r"[0-9]{1,9}")


def new_tag_name(token: str) -> str | None:
    """Return the name a submitted tag value marks as a name ("new:..."), or None."""
    if token.startswith(NEW_TAG_PREFIX):
        return token[len(NEW_TAG_PREFIX) :]
    found = SELECT2_NEW_TAG.match(token)
    return found.group("name") if found else None


class TagsWidget:
    """The tags field: a multiple select, or for people who may create tags a select2 tags
    input (existing tags offered by name, new names typed in)."""

    def __call__(self, field, **kwargs):
        """Render the select, or the text input Flask-Admin's form.js turns into select2 tags."""
        if not field.allow_new:
            return Select2Widget(multiple=True)(field, **kwargs)
        choices = [
            {"id": str(pk), "text": str(field.get_label(obj))} for pk, obj in field.choices_list()
        ]
        choices += [{"id": NEW_TAG_PREFIX + name, "text": name} for name in field.new_names]
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("data-role", "select2-tags")
        kwargs.setdefault("data-allow-duplicate-tags", "true")
        kwargs["data-tags"] = json.dumps(choices)
        params = html_params(name=field.name, type="text", value=field.token_value(), **kwargs)
        # html_params escapes every name and value.
        return Markup(f"<input {params}>")  # noqa: S704


class TagsField(ListedQuerySelectMultipleField):
    """Tags of a post: existing ones by id; new names created at save for people allowed to.

    The view sets `allow_new` per person. New names are matched case-insensitively with the
    existing tags first (typing "python" picks "Python"); truly new ones become Tag objects
    without an address, which the save gives them in its write phase (services.tags).
    """

    widget = TagsWidget()
    allow_new = False

    def __init__(self, *args, **kwargs):
        """Start with no typed names."""
        super().__init__(*args, **kwargs)
        self.new_names: list[str] = []
        self.bare_names: list[str] = []

    def choices_list(self) -> list:
        """Return (id, tag) of the tags offered."""
        return list(self._get_object_list())

    def process_formdata(self, valuelist) -> None:
        """Split the values (select2 joins them with commas) into ids and typed names."""
        ids, names, bare = [], [], []
        for raw in valuelist:
            for token in raw.split(","):
                if not token.strip():
                    continue
                name = new_tag_name(token)
                if name is not None:
                    names.append(name)
                elif TAG_ID.fullmatch(token):
                    ids.append(token)
                else:
                    bare.append(token)
        self.new_names = names
        self.bare_names = bare
        super().process_formdata(ids)

    def token_value(self) -> str:
        """Return the value of the select2 tags input: ids and new:<name> entries."""
        tokens = [str(tag.id) for tag in self.data or () if tag.id is not None]
        tokens += [NEW_TAG_PREFIX + name for name in self.new_names]
        return ",".join(tokens)

    def pre_validate(self, form) -> None:
        """Check the ids, then turn the typed names into existing or new tags."""
        super().pre_validate(form)
        if self.bare_names:
            if not self.allow_new:
                raise ValidationError(str(NOT_OFFERED))
            self.new_names = [*self.new_names, *self.bare_names]
            self.bare_names = []
        if not self.new_names:
            return
        try:
            cleaned = [tags.clean_name(name) for name in self.new_names]
        except tags.TagNameRefused as refused:
            raise ValidationError(str(refused)) from None
        existing = tags.find_by_names(cleaned)
        chosen = list(self.data or ())
        seen = {tag.name.lower() for tag in chosen}
        for name in cleaned:
            key = name.lower()
            if key in seen:
                continue
            seen.add(key)
            tag = existing.get(key)
            if tag is None:
                if not self.allow_new:
                    raise ValidationError(
                        _(
                            "“%(name)s” is not a tag yet, and you may only choose existing "
                            "tags. Ask an editor to create it.",
                            name=name,
                        )
                    )
                tag = Tag(name=name)
            chosen.append(tag)
        self.new_names = [tag.name for tag in chosen if tag.id is None]
        self.data = chosen
