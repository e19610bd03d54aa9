"""How many posts there are of each kind, status and author: the dashboard's tab counts.

Database triggers (migration 0014) keep the rows true in the same transaction as every
INSERT, DELETE and UPDATE of a post's kind, status or author, whatever wrote it: forms,
workflow moves, bulk actions, trash and purge, seeds, the command line, Core bulk statements
and plain SQL alike. Counting 100,000 posts per list request is what they spare.
"""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db


class PostCount(db.Model):
    """The number of posts of one kind, status and author (written by triggers only)."""

    __tablename__ = "post_count"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    # No foreign key: an account with posts cannot be deleted (post.author_id RESTRICT).
    author_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(default=0, server_default="0")
