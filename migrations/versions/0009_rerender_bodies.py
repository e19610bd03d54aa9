"""render every stored post and page again with the rendering pipeline

Heading ids and anchors, working footnote links, the table of contents, task lists, code
highlighting and `dir="auto"` exist only in HTML rendered by the pipeline; bodies are rendered
at save time, so the stored ones are rendered again here, once (as `flask cms rerender` does).
No revision is recorded and no version bumped.

The app's own service runs here (Flask-Migrate runs migrations inside the app); it reads and
writes only columns of `post` and `file` that exist at this revision (file.source_url: 0008).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import context, op
from sqlalchemy.orm import Session

from cms.services.rerender import rerender_all


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if context.is_offline_mode():
        # A SQL script cannot run the renderer: run `flask cms rerender` after applying it.
        return
    # On the migration's own connection and transaction: the session never commits it.
    session = Session(bind=op.get_bind())
    try:
        rerender_all(session)
    finally:
        session.close()


def downgrade():
    # Nothing to undo: the older code shows the newer HTML as it is, and its next save of a
    # post renders that post again.
    pass
