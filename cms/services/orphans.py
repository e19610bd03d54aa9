"""Orphans: stored objects that no File row names, and temporary files of unfinished writes.

Stored bytes and their File row are written in one transaction (see storage.py), but a process
killed between storing the bytes and committing the row leaves an object nobody refers to, and
one killed in the middle of a local write leaves a `.tmp-*.part` file. Neither is ever served;
`flask cms media orphans` lists them and, with `--delete`, removes them.

An object counts as referenced when it is some File's stored name or thumbnail name, or when
its name starts with the stem of a stored name followed by "-" (thumbnails and renditions are
stored as `<stem>-<spec>.<ext>`, see media.file_stem). Only leftovers older than a grace
period are reported: younger ones may belong to an upload whose transaction has not committed
yet.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cms.models import File
from cms.services.media import file_stem
from cms.services.storage import Storage

# How old a leftover must be before it counts as one.
DEFAULT_GRACE = timedelta(hours=1)


@dataclass
class Orphans:
    """What `find_orphans` found."""

    objects: list[str] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.objects) + len(self.temp_files)


@dataclass
class References:
    """The names the File rows refer to, and the stems their renditions start with."""

    names: set[str]
    stems: set[str]

    @classmethod
    def load(cls, session: Session) -> "References":
        """Read every stored and thumbnail name from the database."""
        names: set[str] = set()
        stems: set[str] = set()
        for stored_name, thumbnail_name in session.execute(
            select(File.stored_name, File.thumbnail_name)
        ):
            names.add(stored_name)
            # Derived objects are named after media.file_stem (a prefix of the content hash);
            # the whole name without its extension counts too.
            stems.add(stored_name.split(".", 1)[0])
            stems.add(file_stem(stored_name))
            if thumbnail_name:
                names.add(thumbnail_name)
        return cls(names, stems)

    def __contains__(self, name: str) -> bool:
        if name in self.names:
            return True
        # A rendition: "<stem>-<spec>.<ext>" for the stem of some stored name.
        return any(ch == "-" and name[:at] in self.stems for at, ch in enumerate(name))


def find_orphans(
    session: Session, storage: Storage, *, older_than: timedelta = DEFAULT_GRACE
) -> Orphans:
    """Return the stored objects no File row refers to, and the stale temporary files.

    Both must be at least `older_than` old; `timedelta(0)` reports every leftover.
    """
    references = References.load(session)
    cutoff = datetime.now(UTC) - older_than
    objects = []
    for name in storage.names():
        if name in references:
            continue
        if older_than > timedelta(0):
            try:
                if storage.modified(name) > cutoff:
                    continue
            except FileNotFoundError:
                continue  # removed meanwhile
        objects.append(name)
    return Orphans(sorted(objects), storage.stale_temp_files(older_than))


def remove_orphans(session: Session, storage: Storage, orphans: Orphans) -> Orphans:
    """Remove what `find_orphans` found and return what was removed.

    The references are read again just before: an upload that committed meanwhile keeps its
    object.
    """
    references = References.load(session)
    removed = Orphans()
    for name in orphans.objects:
        if name not in references:
            storage.delete(name)
            removed.objects.append(name)
    for path in orphans.temp_files:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.temp_files.append(path)
    return removed
