"""Status tabs of the posts and pages lists: All, Drafts, In review, Scheduled, Published."""

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_security import current_user

from cms.admin.post_filters import StateFilter
from cms.models import PostState
from cms.services import post_counts

TAB_LABELS = {
    "all": _l("All"),
    PostState.DRAFT: _l("Drafts"),
    PostState.REVIEW: _l("In review"),
    PostState.SCHEDULED: _l("Scheduled"),
    PostState.PUBLISHED: _l("Published"),
}


@dataclass
class Tab:
    """One tab: its words, count, link, and whether it is the list shown."""

    key: str
    label: str
    count: str
    url: str
    current: bool


class StatusTabsMixin:
    """Tabs that filter a post view's list by state, with counts that cost no table count."""

    def _state_filter_arg(self) -> str | None:
        """Return the URL name of the view's state filter (flt0_<name>=draft)."""
        for arg, (_index, found) in (self._filter_args or {}).items():
            if isinstance(found, StateFilter):
                return arg
        return None

    def status_tabs(self) -> list[Tab]:
        """Return the tabs for this person (authors count their own posts only)."""
        arg = self._state_filter_arg()
        if arg is None:
            return []
        chosen = [
            value
            for name, value in request.args.items()
            if name.startswith("flt") and name.partition("_")[2] == arg
        ]
        filtered = any(name.startswith("flt") for name in request.args)
        current = chosen[0] if len(chosen) == 1 else ("all" if not filtered else None)
        counts = post_counts.tab_counts(self.kind, current_user)
        tabs = []
        for key in post_counts.TABS:
            args = {} if key == "all" else {f"flt0_{arg}": str(key)}
            tabs.append(
                Tab(
                    key=str(key),
                    label=str(TAB_LABELS[key]),
                    count=format_number(counts[key]),
                    url=url_for(".index_view", **args),
                    current=current == key,
                )
            )
        return tabs
