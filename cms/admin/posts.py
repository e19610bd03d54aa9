"""Posts: editors and admins see all and publish; authors write and change their own drafts."""

from flask import abort, flash, has_request_context, jsonify, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeGreaterFilter,
    DateTimeSmallerFilter,
    FilterEqual,
)
from flask_admin.form import BaseForm, DateTimeField, Select2Widget
from flask_admin.helpers import is_form_submitted
from flask_admin.model.template import ViewPopupRowAction, ViewRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_security import current_user
from markupsafe import Markup
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from cms.admin.base import ROW_ID, SecuredModelView, parse_id, when_column
from cms.extensions import db
from cms.models import Post, PostStatus, Tag, utcnow
from cms.services import audit, dashboard, submissions
from cms.services.posts import prepare_for_save
from cms.services.previews import preview_url
from cms.services.rendering import make_excerpt, render_markdown
from cms.services.roles import (
    STAFF,
    can_edit_post,
    can_manage_content,
    can_publish,
    can_view_post,
)

STATUS_CHOICES = [
    (PostStatus.DRAFT.value, _l("Draft")),
    (PostStatus.PUBLISHED.value, _l("Published")),
]
# Fields only people who may publish ever get; they are removed from authors' forms.
PUBLISHER_FIELDS = ("status", "published_at", "author")
# Longest Markdown body accepted, in characters (saving and previewing).
MAX_BODY_LENGTH = 200_000


class PostForm(BaseForm):
    """The post form; the view removes the publisher fields for authors."""

    # One-time token of a new post's form: a double-clicked Save creates one post.
    submission = HiddenField()
    title = StringField(_l("Title"), [InputRequired(), Length(max=200)])
    slug = StringField(
        _l("Address"),
        [Optional(), Length(max=180)],
        description=_l("The last part of the post's URL; made from the title when empty."),
    )
    body_md = TextAreaField(_l("Body (Markdown)"), [Length(max=MAX_BODY_LENGTH)])
    excerpt = TextAreaField(
        _l("Excerpt"),
        [Optional(), Length(max=2000)],
        description=_l("Shown in lists; the first words of the body when empty."),
        render_kw={"rows": 3},
    )
    tags = QuerySelectMultipleField(
        _l("Tags"), query_factory=dashboard.all_tags, widget=Select2Widget(multiple=True)
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default=PostStatus.DRAFT.value)
    published_at = DateTimeField(
        _l("Publication time"),
        [Optional()],
        description=_l("In UTC. Empty: now, when published. A future time schedules the post."),
    )
    author = QuerySelectField(
        _l("Author"),
        [InputRequired()],
        query_factory=dashboard.staff_users,
        get_label=lambda user: f"{user.name} <{user.email}>",
        widget=Select2Widget(),
    )


class QueryOptions:
    """Filter choices read from the database at each request (filters are built at start)."""

    def __init__(self, load):
        """Remember the function that loads the (value, label) pairs."""
        self.load = load

    def __bool__(self) -> bool:
        """Say "there are options" without a query: Flask-Admin asks this at start."""
        return True

    def __iter__(self):
        """Load the options now, inside the request."""
        return iter(self.load())


class ChoiceFilter(FilterEqual):
    """An equality filter that accepts only one of its options."""

    def validate(self, value) -> bool:
        """Return whether `value` is one of the options."""
        return value in {str(key) for key, _label in self.get_options(None) or ()}


class RelatedFilter(FilterEqual):
    """An equality filter on a related row, chosen by id from options read per request."""

    def __init__(self, column, name, condition, load_options):
        """Filter `column` by `condition(id)`; `load_options` lists the (id, name) choices."""
        super().__init__(column, name, options=QueryOptions(load_options))
        self.condition = condition

    def clean(self, value) -> int:
        """Return the id; junk raises ValueError, which Flask-Admin reports as invalid."""
        if not ROW_ID.match(str(value)):
            raise ValueError(value)
        return int(value)

    def apply(self, query, value, alias=None):
        """Keep the rows that meet the condition for this id."""
        return query.filter(self.condition(value))


class PostView(SecuredModelView):
    """Posts, with Markdown preview, field rules per role and row checks on every endpoint."""

    allowed_roles = STAFF
    form = PostForm
    list_template = "admin/posts/list.html"
    create_template = "admin/posts/create.html"
    edit_template = "admin/posts/edit.html"
    details_template = "admin/posts/details.html"
    form_widget_args = {"body_md": {"rows": 18, "class": "form-control cms-markdown"}}

    column_list = ("title", "status", "author", "tags", "published_at", "updated_at")
    column_details_list = (
        "title", "slug", "status", "author", "tags", "published_at", "created_at",
        "updated_at", "excerpt", "body_html",
    )  # fmt: skip
    column_export_list = (
        "id", "title", "slug", "status", "author", "tags", "published_at", "updated_at",
    )  # fmt: skip
    column_labels = {
        "id": _l("ID"), "title": _l("Title"), "slug": _l("Address"), "status": _l("Status"),
        "author": _l("Author"), "tags": _l("Tags"), "published_at": _l("Publication time"),
        "created_at": _l("Created"), "updated_at": _l("Last change"), "excerpt": _l("Excerpt"),
        "body_md": _l("Body"), "body_html": _l("Body as readers see it"),
    }  # fmt: skip
    column_searchable_list = ("title", "body_md")
    column_sortable_list = (
        "title", "status", ("author", "author.display_name"), "published_at", "updated_at",
    )  # fmt: skip
    column_default_sort = ("updated_at", True)
    # Readable filter arguments (?flt0_status_equals=draft), so links to a filter are stable.
    named_filter_urls = True
    column_filters = [
        ChoiceFilter(Post.status, _l("Status"), options=STATUS_CHOICES),
        RelatedFilter(
            Post.author_id,
            _l("Author"),
            lambda ident: Post.author_id == ident,
            lambda: dashboard.author_choices(current_user),
        ),
        RelatedFilter(
            Post.id, _l("Tag"), lambda ident: Post.tags.any(Tag.id == ident), dashboard.tag_choices
        ),
        *(
            kind(Post.published_at, _l("Publication time"))
            for kind in (DateTimeGreaterFilter, DateTimeSmallerFilter, DateTimeBetweenFilter)
        ),
    ]
    export_types = ["csv"]
    export_max_rows = 50_000

    # --- Who sees and changes what --------------------------------------------------------

    @property
    def can_export(self) -> bool:
        """Only people who see every post may export them."""
        return has_request_context() and can_manage_content(current_user)

    def _handle_view(self, name, **kwargs):
        """Check the role for every endpoint, then refuse the export to authors."""
        response = super()._handle_view(name, **kwargs)
        if response is None and name == "export" and not self.can_export:
            abort(403)
        return response

    def get_query(self):
        """Return the posts this person may see (authors: their own)."""
        return super().get_query().filter(dashboard.post_scope(current_user))

    def get_count_query(self):
        """Count only the posts this person may see."""
        return super().get_count_query().filter(dashboard.post_scope(current_user))

    def get_one(self, id):
        """Return the post for details, edit or delete; 404 if this person may not do that."""
        post = self.get_query().filter(Post.id == parse_id(id)).one_or_none()
        if post is None or not can_view_post(current_user, post):
            abort(404)
        # Published posts are read-only to their authors: only the details page opens.
        if not request.endpoint.endswith(".details_view") and not self.may_change(post):
            abort(404)
        return post

    def may_change(self, post) -> bool:
        """Return whether this person may edit or delete the post."""
        return can_edit_post(current_user, post)

    def preview_url(self, post) -> str:
        """Return the signed link that shows this post to anyone who has it."""
        return preview_url(post)

    def row_actions_for(self, post, actions):
        """Return the list's row buttons this person may use on this post."""
        if self.may_change(post):
            return actions
        return [item for item in actions if isinstance(item, (ViewRowAction, ViewPopupRowAction))]

    # --- Forms -----------------------------------------------------------------------------

    def create_form(self, obj=None):
        """Return the create form for this person; publishers' new posts default to themselves."""
        form = self._fields_for_role(super().create_form(obj))
        if not is_form_submitted():
            form.submission.data = submissions.new_token()
            if "author" in form:
                form.author.data = current_user._get_current_object()
        return form

    def edit_form(self, obj=None):
        """Return the edit form for this person; the current author stays selectable."""
        form = self._fields_for_role(super().edit_form(obj))
        del form["submission"]
        if "author" in form and obj is not None:
            form.author.query = dashboard.staff_users(include_id=obj.author_id)
        return form

    def _fields_for_role(self, form):
        """Remove the fields this person may not set, so crafted values are never read."""
        if not can_publish(current_user):
            for name in PUBLISHER_FIELDS:
                if name in form:
                    del form[name]
        return form

    def on_model_change(self, form, model, is_created):
        """Apply the role rules, then render the body, excerpt, slug and publication time."""
        user = current_user._get_current_object()
        if is_created:
            try:
                submissions.claim(form.submission.data)
            except submissions.AlreadySubmitted as refused:
                raise ValidationError(str(refused)) from None
        if not can_publish(user):
            if not is_created and not can_edit_post(user, model):
                raise ValidationError(_("You may only change your own drafts."))
            # Belt and braces: the fields are gone from the form, the values are forced here.
            model.status = PostStatus.DRAFT
            if is_created:
                model.author = user
        # An excerpt equal to the one made from the old body was made by us, not typed.
        typed = (form.excerpt.data or "").strip()
        generated = make_excerpt(model.body_html or "")
        prepare_for_save(model, excerpt_given=bool(typed) and typed != generated)

    def on_model_delete(self, model):
        """Refuse to delete a post this person may not change."""
        if not self.may_change(model):
            raise ValidationError(_("You may only delete your own drafts."))

    # --- Bulk actions -------------------------------------------------------------------

    def is_action_allowed(self, name: str) -> bool:
        """Offer Publish and Unpublish only to people who may publish."""
        if name in ("publish", "unpublish") and not can_publish(current_user):
            return False
        return super().is_action_allowed(name)

    def handle_action(self, return_view=None):
        """Refuse unknown (400) or forbidden (403) bulk actions instead of ignoring them."""
        name = request.form.get("action", "")
        if name not in self._actions_data:
            abort(400)
        if not self.is_action_allowed(name):
            abort(403)
        return super().handle_action(return_view)

    def rows_for_action(self, ids) -> list[Post]:
        """Return the selected posts; 404 if one is outside this person's scope."""
        wanted = {parse_id(ident) for ident in ids}
        posts = self.get_query().filter(Post.id.in_(wanted)).all() if wanted else []
        if len(posts) != len(wanted):
            abort(404)
        return posts

    @action("delete", _l("Delete"), _l("Delete the selected posts?"))
    def action_delete(self, ids):
        """Delete the selected posts, all or none, if this person may change each of them."""
        posts = self.rows_for_action(ids)
        if not all(self.may_change(post) for post in posts):
            abort(404)
        for post in posts:
            audit.record("bulk:delete", post, audit.shorten(post.title))
            db.session.delete(post)
        db.session.commit()
        flash(ngettext("%(num)d post deleted.", "%(num)d posts deleted.", len(posts)), "success")

    @action("publish", _l("Publish"), _l("Publish the selected posts?"))
    def action_publish(self, ids):
        """Publish the selected posts (now, unless they have a publication time)."""
        count = self._set_status(ids, PostStatus.PUBLISHED)
        flash(ngettext("%(num)d post published.", "%(num)d posts published.", count), "success")

    @action("unpublish", _l("Unpublish"), _l("Turn the selected posts back into drafts?"))
    def action_unpublish(self, ids):
        """Turn the selected posts back into drafts."""
        count = self._set_status(ids, PostStatus.DRAFT)
        flash(ngettext("%(num)d post unpublished.", "%(num)d posts unpublished.", count), "success")

    def _set_status(self, ids, status: PostStatus) -> int:
        """Set the status of the selected posts (checking the right again); return how many."""
        if not can_publish(current_user):
            abort(403)
        posts = self.rows_for_action(ids)
        action = "bulk:publish" if status == PostStatus.PUBLISHED else "bulk:unpublish"
        for post in posts:
            audit.record(action, post, f"status: {post.status} -> {status.value}")
            post.status = status
            prepare_for_save(post)
        db.session.commit()
        return len(posts)

    # --- Preview and export -----------------------------------------------------------

    @expose("/preview/", methods=("POST",))
    def preview(self):
        """Return the sanitized HTML that the posted Markdown would be saved as."""
        source = request.form.get("body_md", "")
        if len(source) > MAX_BODY_LENGTH:
            abort(413)
        return jsonify(html=render_markdown(source))

    # The CSV export and its formula defusing come from SecuredModelView.

    # --- Display -----------------------------------------------------------------------

    def _title_link(self, context, model, name):
        """Link the title to the edit form, or to the details when the post is read-only."""
        endpoint = ".edit_view" if self.may_change(model) else ".details_view"
        return Markup('<a href="{}">{}</a>').format(
            self.get_url(endpoint, id=model.id), model.title
        )

    column_formatters = {
        "title": _title_link,
        "status": lambda view, context, model, name: status_badge(model),
        "author": lambda view, context, model, name: model.author.name if model.author else "",
        "tags": lambda view, context, model, name: ", ".join(tag.name for tag in model.tags),
        "published_at": when_column,
        "updated_at": when_column,
    }
    column_formatters_detail = {
        **column_formatters,
        "title": lambda view, context, model, name: model.title,
        "created_at": when_column,
        # Every write goes through services.rendering, which sanitizes with the allow-list as
        # its last step; the stored HTML is shown as is, as on the public post page.
        "body_html": lambda view, context, model, name: Markup(
            '<div class="cms-rendered">{}</div>'
        ).format(Markup(model.body_html or "")),  # noqa: S704
    }
    column_formatters_export = {
        "status": lambda view, context, model, name: model.status,
        "author": lambda view, context, model, name: model.author.name if model.author else "",
        "tags": lambda view, context, model, name: ", ".join(tag.name for tag in model.tags),
    }


def status_badge(post) -> Markup:
    """Return the post's status as a small label: draft, published, or scheduled."""
    if post.status != PostStatus.PUBLISHED:
        return Markup('<span class="badge badge-secondary">{}</span>').format(_("Draft"))
    if post.published_at and post.published_at > utcnow():
        return Markup('<span class="badge badge-info">{}</span>').format(_("Scheduled"))
    return Markup('<span class="badge badge-success">{}</span>').format(_("Published"))


def post_link(post) -> str:
    """Return the dashboard address of a post for the current person (edit or details)."""
    endpoint = "posts.edit_view" if can_edit_post(current_user, post) else "posts.details_view"
    return url_for(endpoint, id=post.id)
