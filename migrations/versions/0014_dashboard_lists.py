"""dashboard lists at any size: indexes for keyset paging, post counts kept by triggers

Every dashboard list pages by keyset (its sort column, then the id) instead of OFFSET, and
no list counts its table: each offered sort and filter gets an index ending in the id. The
status tabs of posts and pages read their counts from post_count, a row per kind, status and
author that triggers keep true in the same transaction as every write of a post, whatever
wrote it (ORM, Core bulk statements, plain SQL). It is filled here from the posts there are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEXES = {
    'post': [
        ('ix_post_kind_updated_at_id', ['kind', 'updated_at', 'id']),
        ('ix_post_kind_status_updated_at_id', ['kind', 'status', 'updated_at', 'id']),
        ('ix_post_author_kind_updated_at_id', ['author_id', 'kind', 'updated_at', 'id']),
        ('ix_post_kind_title_id', ['kind', 'title', 'id']),
        ('ix_post_kind_published_at_id', ['kind', 'published_at', 'id']),
        ('ix_post_status_trashed_at_id', ['status', 'trashed_at', 'id']),
        ('ix_post_status_updated_at_id', ['status', 'updated_at', 'id']),
        # Replaces ix_post_kind_status_unpublish_at, which it starts with.
        ('ix_post_kind_status_unpublish_at_published_at',
         ['kind', 'status', 'unpublish_at', 'published_at']),
    ],
    'audit_event': [
        ('ix_audit_event_created_at_id', ['created_at', 'id']),
        ('ix_audit_event_actor_created_at_id', ['actor_email', 'created_at', 'id']),
        ('ix_audit_event_action_created_at_id', ['action', 'created_at', 'id']),
        ('ix_audit_event_type_created_at_id', ['object_type', 'created_at', 'id']),
    ],
    'file': [('ix_file_created_at_id', ['created_at', 'id'])],
}

ADD = (
    "INSERT INTO post_count (kind, status, author_id, n) "
    "VALUES (NEW.kind, NEW.status, NEW.author_id, 1) "
    "ON CONFLICT (kind, status, author_id) DO UPDATE SET n = post_count.n + 1"
)
REMOVE = (
    "UPDATE post_count SET n = n - 1 "
    "WHERE kind = OLD.kind AND status = OLD.status AND author_id = OLD.author_id"
)
CHANGED = (
    "OLD.kind IS NOT NEW.kind OR OLD.status IS NOT NEW.status "
    "OR OLD.author_id IS NOT NEW.author_id"
)

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER post_count_insert AFTER INSERT ON post BEGIN {ADD}; END",
    f"CREATE TRIGGER post_count_delete AFTER DELETE ON post BEGIN {REMOVE}; END",
    f"CREATE TRIGGER post_count_update AFTER UPDATE OF kind, status, author_id ON post "
    f"WHEN {CHANGED} BEGIN {REMOVE}; {ADD}; END",
]

# An UPDATE touches two counters; every transaction takes them in the same order (the
# smaller key first), so two moves in opposite directions cannot deadlock.
PG_TRIGGERS = [
    f"""CREATE FUNCTION post_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND ROW(NEW.kind, NEW.status, NEW.author_id) < ROW(OLD.kind, OLD.status, OLD.author_id)
        THEN
            {ADD};
            {REMOVE};
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {REMOVE};
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            {ADD};
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER post_count_insert_delete AFTER INSERT OR DELETE ON post "
    "FOR EACH ROW EXECUTE FUNCTION post_count_change()",
    "CREATE TRIGGER post_count_update AFTER UPDATE OF kind, status, author_id ON post "
    f"FOR EACH ROW WHEN ({CHANGED.replace('IS NOT', 'IS DISTINCT FROM')}) "
    "EXECUTE FUNCTION post_count_change()",
]


def upgrade():
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index('ix_post_kind_status_unpublish_at')
    op.create_table(
        'post_count',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('author_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('kind', 'status', 'author_id', name=op.f('pk_post_count')),
    )
    op.execute(
        "INSERT INTO post_count (kind, status, author_id, n) "
        "SELECT kind, status, author_id, COUNT(*) FROM post GROUP BY kind, status, author_id"
    )
    triggers = PG_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER post_count_update ON post')
        op.execute('DROP TRIGGER post_count_insert_delete ON post')
        op.execute('DROP FUNCTION post_count_change()')
    else:
        for name in ('post_count_update', 'post_count_delete', 'post_count_insert'):
            op.execute(f'DROP TRIGGER {name}')
    op.drop_table('post_count')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(
            'ix_post_kind_status_unpublish_at', ['kind', 'status', 'unpublish_at'], unique=False
        )
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _columns in indexes:
                batch_op.drop_index(name)
