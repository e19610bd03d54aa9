"""The data model, one module per domain, re-exported here."""

from cms.models.audit import AuditEvent, AuditLogIsAppendOnly
from cms.models.autosave import AutosaveSlot
from cms.models.base import metadata, utcnow
from cms.models.content import (
    EditPresence,
    NavItem,
    Post,
    PostKind,
    PostState,
    PostStatus,
    RescuedForm,
    Revision,
    RevisionIsImmutable,
    SlugRedirect,
    Tag,
    post_tags,
)
from cms.models.counts import PostCount
from cms.models.media import File, FileUsage
from cms.models.search import SearchDocument
from cms.models.submissions import FormSubmission
from cms.models.users import Role, User, roles_users

__all__ = [
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AutosaveSlot",
    "EditPresence",
    "File",
    "FileUsage",
    "FormSubmission",
    "NavItem",
    "Post",
    "PostCount",
    "PostKind",
    "PostState",
    "PostStatus",
    "RescuedForm",
    "Revision",
    "RevisionIsImmutable",
    "Role",
    "SearchDocument",
    "SlugRedirect",
    "Tag",
    "User",
    "metadata",
    "post_tags",
    "roles_users",
    "utcnow",
]
