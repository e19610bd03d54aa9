"""The dashboard home page: counts, recent work and a chart of what was published."""

from flask_admin import expose
from flask_security import current_user

from cms.admin.base import SecuredIndexView, format_when
from cms.admin.posts import post_link, status_badge
from cms.admin.times import time_tag
from cms.services import dashboard
from cms.services.roles import STAFF, can_publish

# Drawing area of the chart, in SVG user units; the browser scales it to the page width.
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_LABEL_SPACE = 36


def chart_bars(months: list) -> list[dict]:
    """Return the position and size of each month's bar in the SVG chart."""
    highest = max((count for _month, count in months), default=0) or 1
    slot = CHART_WIDTH / max(len(months), 1)
    drawable = CHART_HEIGHT - CHART_LABEL_SPACE
    bars = []
    for index, (month, count) in enumerate(months):
        height = round(drawable * count / highest, 1)
        bars.append(
            {
                "month": month,
                "count": count,
                "x": round(index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(drawable - height + 16, 1),
                "height": height,
                "center": round(index * slot + slot / 2, 1),
            }
        )
    return bars


class DashboardIndexView(SecuredIndexView):
    """Counts, recent edits and recent files for staff."""

    allowed_roles = STAFF

    @expose("/")
    def index(self):
        """Show the dashboard."""
        user = current_user._get_current_object()
        months = dashboard.published_per_month()
        return self.render(
            "admin/dashboard.html",
            counts=dashboard.post_counts(user),
            recent_posts=dashboard.recent_posts(user),
            scheduled=dashboard.scheduled_next(user),
            in_review=dashboard.waiting_for_review(user),
            recent_files=dashboard.recent_files(user),
            months=months,
            bars=chart_bars(months),
            chart_width=CHART_WIDTH,
            chart_height=CHART_HEIGHT,
            published_total=sum(count for _month, count in months),
            can_publish=can_publish(user),
            post_link=post_link,
            status_badge=status_badge,
            format_when=format_when,
            time_tag=time_tag,
        )
