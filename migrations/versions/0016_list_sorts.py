"""indexes behind the sorts the files and users lists offer

The files list sorts by name, type and size, the users list by display name, confirmation and
last login: each page is read by keyset (the sort column, then the id), so each such sort gets
an index ending in the id, as the posts' sorts did in 0014.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 22:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

INDEXES = {
    'file': [
        ('ix_file_original_name_id', ['original_name', 'id']),
        ('ix_file_content_type_id', ['content_type', 'id']),
        ('ix_file_size_id', ['size', 'id']),
    ],
    'user': [
        ('ix_user_display_name_id', ['display_name', 'id']),
        ('ix_user_confirmed_at_id', ['confirmed_at', 'id']),
        ('ix_user_last_login_at_id', ['last_login_at', 'id']),
    ],
}


def upgrade():
    for table, indexes in INDEXES.items():
        for name, columns in indexes:
            op.create_index(name, table, columns, unique=False)


def downgrade():
    for table, indexes in INDEXES.items():
        for name, _columns in indexes:
            op.drop_index(name, table_name=table)
