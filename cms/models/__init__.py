"""The data model, one module per domain, re-exported here."""

from cms.models.audit import AuditEvent, AuditLogIsAppendOnly
from cms.models.base import metadata, utcnow
from cms.models.content import Post, PostStatus, Tag, post_tags
from cms.models.media import File
from cms.models.submissions import FormSubmission
from cms.models.users import Role, User, roles_users

__all__ = [
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "File",
    "FormSubmission",
    "Post",
    "PostStatus",
    "Role",
    "Tag",
    "User",
    "metadata",
    "post_tags",
    "roles_users",
    "utcnow",
]
