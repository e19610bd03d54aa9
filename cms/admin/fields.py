"""Form fields that reference other rows: only the rows offered to this person are accepted."""

from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

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
