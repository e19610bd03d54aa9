"""The post and page form, and the status names and badges the dashboard shows."""

from urllib.parse import urlsplit

from flask_admin.form import BaseForm, Select2Widget
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.admin.fields import ListedQuerySelectField, LocalDateTimeField, TagsField
from cms.models import PostState, PostStatus
from cms.services import dashboard
from cms.services.rendering import max_body_chars

STATUS_CHOICES = [
    (PostStatus.DRAFT.value, _l("Draft")),
    (PostStatus.REVIEW.value, _l("In review")),
    (PostStatus.PUBLISHED.value, _l("Published")),
]
# What the lists show and filter by: the status with the clock applied.
STATE_LABELS = {
    PostState.DRAFT: _l("Draft"),
    PostState.REVIEW: _l("In review"),
    PostState.SCHEDULED: _l("Scheduled"),
    PostState.PUBLISHED: _l("Published"),
    PostState.EXPIRED: _l("Unpublished by time"),
    PostState.TRASHED: _l("In the trash"),
}
STATE_BADGES = {
    PostState.DRAFT: "secondary",
    PostState.REVIEW: "warning",
    PostState.SCHEDULED: "info",
    PostState.PUBLISHED: "success",
    PostState.EXPIRED: "dark",
    PostState.TRASHED: "danger",
}
# Fields only people who may publish ever get; they are removed from authors' forms.
PUBLISHER_FIELDS = ("status", "published_at", "unpublish_at", "author")


def describe_times(form, zone_name: str) -> None:
    """Name the zone the form's time fields read and show times in (the person's)."""
    descriptions = {
        "published_at": _(
            "Times in %(zone)s. Empty: now, when published. A future time schedules it.",
            zone=zone_name,
        ),
        "unpublish_at": _(
            "Times in %(zone)s. Optional: readers stop seeing it at this time.", zone=zone_name
        ),
    }
    for name, description in descriptions.items():
        if name in form:
            form[name].description = description


def visible_images() -> list:
    """Return the images the person filling in the form may see (social image choices)."""
    return dashboard.image_files(current_user)


class PostForm(BaseForm):
    """The post form; the view removes the publisher fields for authors."""

    # One-time token of a new post's form: a double-clicked Save creates one post.
    submission = HiddenField()
    # The version the edit form was loaded from: saving over a newer one is refused.
    version = HiddenField()
    title = StringField(_l("Title"), [InputRequired(), Length(max=200)])
    slug = StringField(
        _l("Address"),
        [Optional(), Length(max=180)],
        description=_l("The last part of the post's URL; made from the title when empty."),
    )
    body_md = TextAreaField(_l("Body (Markdown)"))
    excerpt = TextAreaField(
        _l("Excerpt"),
        [Optional(), Length(max=2000)],
        description=_l("Shown in lists; the first words of the body when empty."),
        render_kw={"rows": 3},
    )
    tags = TagsField(_l("Tags"), query_factory=dashboard.all_tags)
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default=PostStatus.DRAFT.value)
    # Typed and shown in the writer's time zone, stored in UTC; the view names the zone in
    # the descriptions (describe_times).
    published_at = LocalDateTimeField(_l("Publication time"), [Optional()])
    unpublish_at = LocalDateTimeField(_l("Unpublish time"), [Optional()])
    author = ListedQuerySelectField(
        _l("Author"),
        [InputRequired()],
        query_factory=dashboard.staff_users,
        get_label=lambda user: f"{user.name} <{user.email}>",
        widget=Select2Widget(),
        # One author is always selected, so the browser's "required" adds nothing; and on a
        # select without an empty first option it is invalid HTML.
        render_kw={"required": False},
    )
    meta_title = StringField(
        _l("Title for search engines"),
        [Optional(), Length(max=200)],
        description=_l("Shown in the browser tab and search results; the title when empty."),
    )
    meta_description = TextAreaField(
        _l("Description for search engines"),
        [Optional(), Length(max=320)],
        description=_l("A sentence or two for search results; the excerpt when empty."),
        render_kw={"rows": 2},
    )
    canonical_url = StringField(
        _l("Canonical address"),
        [Optional(), Length(max=500)],
        description=_l("Only if the original lives elsewhere: its full https:// address."),
    )
    noindex = BooleanField(
        _l("Hide from search engines"),
        description=_l(
            "Readers still see it; search engines are asked not to list it, and the sitemap "
            "leaves it out."
        ),
    )
    # Only images this person may see: the choices and the accepted values alike.
    social_image = ListedQuerySelectField(
        _l("Image for social media"),
        [Optional()],
        query_factory=visible_images,
        get_label=lambda file: file.original_name,
        allow_blank=True,
        blank_text="—",
        widget=Select2Widget(),
    )

    def populate_obj(self, obj) -> None:
        """Copy the fields onto the post, except the form's own bookkeeping.

        Writing `version` would set the post's version counter instead of letting the UPDATE
        raise it (and check it).
        """
        for name, field in self._fields.items():
            if name not in ("version", "submission"):
                field.populate_obj(obj, name)

    def validate_canonical_url(self, field) -> None:
        """Accept only a full http(s) address."""
        value = (field.data or "").strip()
        field.data = value
        if value and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ValidationError(_("Please enter a full address starting with https://."))

    def validate_body_md(self, field) -> None:
        """Refuse a body longer than MAX_BODY_CHARS; the typed text stays in the form."""
        limit = max_body_chars()
        if len(field.data or "") > limit:
            raise ValidationError(
                _(
                    "The body is too long: %(length)s characters, at most %(limit)s allowed.",
                    length=format_number(len(field.data)),
                    limit=format_number(limit),
                )
            )

    def validate_unpublish_at(self, field) -> None:
        """An unpublish time must come after the publication time."""
        published = self.published_at.data if "published_at" in self else None
        if field.data and published and field.data <= published:
            raise ValidationError(_("The unpublish time must be after the publication time."))
