"""What each dashboard list calls its things: "New post", "Post saved.", "No posts yet."

Flask-Admin speaks of "records" everywhere; each view names its own things instead. The
sentences are whole (not a noun slotted into a frame) because German inflects around the
noun ("Neuer Beitrag", "Neue Seite").
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Words:
    """The sentences one list and its forms show about the things it holds."""

    new: str
    created: str
    saved: str
    deleted: str
    # "%(title)s" is the row's name; the question the delete button asks.
    delete_question: str
    delete_button: str
    empty: str
    # The link to the create form under the empty message ("" when there is none).
    first: str
    search: str
    # "%(search)s" is what was searched for.
    no_match: str


ITEMS = Words(
    new=_l("New item"),
    created=_l("Item created."),
    saved=_l("Item saved."),
    deleted=_l("Item deleted."),
    delete_question=_l("Delete “%(title)s” for good?"),
    delete_button=_l("Delete for good"),
    empty=_l("Nothing here yet."),
    first=_l("Add the first one"),
    search=_l("Search"),
    no_match=_l("Nothing matches “%(search)s”."),
)

POSTS = Words(
    new=_l("New post"),
    created=_l("Post created."),
    saved=_l("Post saved."),
    deleted=_l("Post moved to trash."),
    delete_question=_l("Move “%(title)s” to trash? Editors can restore it from there."),
    delete_button=_l("Move to trash"),
    empty=_l("No posts yet."),
    first=_l("Write the first one"),
    search=_l("Search posts"),
    no_match=_l("No posts match “%(search)s”."),
)

PAGES = Words(
    new=_l("New page"),
    created=_l("Page created."),
    saved=_l("Page saved."),
    deleted=_l("Page moved to trash."),
    delete_question=_l("Move “%(title)s” to trash? Editors can restore it from there."),
    delete_button=_l("Move to trash"),
    empty=_l("No pages yet."),
    first=_l("Write the first one"),
    search=_l("Search pages"),
    no_match=_l("No pages match “%(search)s”."),
)

TAGS = Words(
    new=_l("New tag"),
    created=_l("Tag created."),
    saved=_l("Tag saved."),
    deleted=_l("Tag deleted."),
    delete_question=_l("Delete the tag “%(title)s” for good? Posts keep their text."),
    delete_button=_l("Delete tag"),
    empty=_l("No tags yet."),
    first=_l("Add the first one"),
    search=_l("Search tags"),
    no_match=_l("No tags match “%(search)s”."),
)

MENU = Words(
    new=_l("New menu entry"),
    created=_l("Menu entry created."),
    saved=_l("Menu entry saved."),
    deleted=_l("Menu entry deleted."),
    delete_question=_l("Remove “%(title)s” from the menu?"),
    delete_button=_l("Remove from menu"),
    empty=_l("The menu is empty."),
    first=_l("Add the first entry"),
    search=_l("Search the menu"),
    no_match=_l("No menu entries match “%(search)s”."),
)

FILES = Words(
    new=_l("Upload files"),
    created=_l("File uploaded."),
    saved=_l("File saved."),
    deleted=_l("File deleted."),
    delete_question=_l("Delete the file “%(title)s” for good?"),
    delete_button=_l("Delete file"),
    empty=_l("No files yet."),
    first=_l("Upload the first one"),
    search=_l("Search files"),
    no_match=_l("No files match “%(search)s”."),
)

TRASH = Words(
    new="",
    created="",
    saved="",
    deleted=_l("Deleted for good."),
    delete_question=_l("Delete “%(title)s” and its history for good?"),
    delete_button=_l("Delete for good"),
    empty=_l("Trash is empty."),
    first="",
    search=_l("Search the trash"),
    no_match=_l("Nothing in the trash matches “%(search)s”."),
)

USERS = Words(
    new=_l("New user"),
    created=_l("User created."),
    saved=_l("User saved."),
    deleted=_l("User deleted."),
    delete_question=_l("Delete the account of “%(title)s” for good?"),
    delete_button=_l("Delete user"),
    empty=_l("No users yet."),
    first=_l("Add the first one"),
    search=_l("Search people"),
    no_match=_l("Nobody matches “%(search)s”."),
)

ROLES = Words(
    new=_l("New role"),
    created=_l("Role created."),
    saved=_l("Role saved."),
    deleted=_l("Role deleted."),
    delete_question=_l("Delete the role “%(title)s” for good?"),
    delete_button=_l("Delete role"),
    empty=_l("No roles yet."),
    first=_l("Add the first one"),
    search=_l("Search roles"),
    no_match=_l("No roles match “%(search)s”."),
)

AUDIT = Words(
    new="",
    created="",
    saved="",
    deleted="",
    delete_question="",
    delete_button="",
    empty=_l("Nothing has happened yet."),
    first="",
    search="",
    no_match="",
)
