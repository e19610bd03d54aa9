"""a post's word count, kept with its body: reading times without reading the body

Every card and post page shows a reading time. It was counted from the Markdown on each
request (the whole body read for every card of a list, then split into words): about 6 % of a
post page's instructions and 8 % of the home page's with 1 KB bodies, more with longer ones.
The count is now a column, set whenever the body is (cms.models.content); this fills it for
the posts there are, a thousand at a time, with the same count.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(sa.Column('word_count', sa.Integer(), server_default='0', nullable=False))
    connection = op.get_bind()
    post = sa.table('post', sa.column('id', sa.Integer), sa.column('body_md', sa.Text),
                    sa.column('word_count', sa.Integer))
    counted = sa.update(post).where(post.c.id == sa.bindparam('post_id')).values(
        word_count=sa.bindparam('words')
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(post.c.id, post.c.body_md).where(post.c.id > last).order_by(post.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            counted,
            [{'post_id': post_id, 'words': len((body or '').split())} for post_id, body in rows],
        )
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_column('word_count')
