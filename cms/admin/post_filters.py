"""List filters of the posts and pages views: state (with the clock), author, tag, time."""

from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeGreaterFilter,
    DateTimeSmallerFilter,
    FilterEqual,
)
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from sqlalchemy import and_, or_

from cms.admin.base import ROW_ID
from cms.admin.post_forms import STATE_LABELS
from cms.models import Post, PostState, PostStatus, Tag, utcnow
from cms.services import dashboard


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


class AfterFilter(DateTimeGreaterFilter):
    """Rows after a time ("Publication time after ...", not "greater than")."""

    def operation(self):
        """Return the filter's words."""
        return _l("after")


class BeforeFilter(DateTimeSmallerFilter):
    """Rows before a time."""

    def operation(self):
        """Return the filter's words."""
        return _l("before")


def state_condition(state: str):
    """Return the SQL condition for posts in one state (the clock applied, as readers see)."""
    now = utcnow()
    published = Post.status == PostStatus.PUBLISHED
    started = or_(Post.published_at.is_(None), Post.published_at <= now)
    ended = and_(Post.unpublish_at.is_not(None), Post.unpublish_at <= now)
    return {
        PostState.SCHEDULED: and_(published, Post.published_at > now),
        PostState.PUBLISHED: and_(published, started, ~ended),
        PostState.EXPIRED: and_(published, started, ended),
    }.get(state, Post.status == state)


class StateFilter(ChoiceFilter):
    """Filter by state: draft, in review, scheduled, published, unpublished by time."""

    def apply(self, query, value, alias=None):
        """Keep the posts in that state now."""
        return query.filter(state_condition(value))


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


def post_filters(with_tags: bool = True) -> list:
    """Return fresh list filters: state, author, tag (posts only) and publication time."""
    filters = [
        StateFilter(Post.status, _l("Status"), options=list(STATE_LABELS.items())[:-1]),
        RelatedFilter(
            Post.author_id,
            _l("Author"),
            lambda ident: Post.author_id == ident,
            lambda: dashboard.author_choices(current_user),
        ),
    ]
    if with_tags:
        filters.append(
            RelatedFilter(
                Post.id,
                _l("Tag"),
                lambda ident: Post.tags.any(Tag.id == ident),
                dashboard.tag_choices,
            )
        )
    filters += [
        kind(Post.published_at, _l("Publication time"))
        for kind in (AfterFilter, BeforeFilter, DateTimeBetweenFilter)
    ]
    return filters
