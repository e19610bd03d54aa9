"""A test's rows and uploads, taken once and put back after a request changed them.

tests/test_access_matrix.py tries many requests against one world; one that writes (an allowed
POST) must not leave its change to the next. Putting back the few rows it changed costs far less
than emptying the database and building the world again for every request.
"""

from pathlib import Path

from cms.extensions import db
from tests.helpers import files_in, snapshot


def folder_state(folder) -> dict[str, tuple[int, int]]:
    """Return (size, modification time) of every file under a folder, by relative path."""
    root = Path(folder)
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


def dependents(names: set[str]) -> set[str]:
    """Return the tables named plus every table that refers to one of them, transitively."""
    found = set(names)
    grew = True
    while grew:
        grew = False
        for table in db.metadata.sorted_tables:
            if table.name in found:
                continue
            if any(key.column.table.name in found for key in table.foreign_keys):
                found.add(table.name)
                grew = True
    return found


class World:
    """Every row of every table and every file of the uploads folder at one moment."""

    def __init__(self, uploads, rows: dict, files: dict[str, bytes]):
        self.uploads = Path(uploads)
        self.rows = rows
        self.files = files
        self.top_files = files_in(uploads)
        self.folder = folder_state(uploads)

    @classmethod
    def take(cls, uploads) -> "World":
        """Record the database's rows and the uploads folder as they are now."""
        root = Path(uploads)
        files = {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file()
        }
        return cls(uploads, snapshot(), files)

    def restore_if_changed(self, rows: dict) -> None:
        """Put back rows and files if `rows` (a snapshot taken now) or the folder differ."""
        if rows != self.rows:
            self._restore_rows(rows)
        if folder_state(self.uploads) != self.folder:
            self._restore_files()

    def _restore_rows(self, rows: dict) -> None:
        changed = {name for name, content in self.rows.items() if rows.get(name) != content}
        # Children of a changed table are emptied and refilled too: deleting the parent rows
        # would cascade to them (or be refused) on PostgreSQL.
        # The post counters follow the posts by themselves (triggers): never written back.
        affected = dependents(changed) - {"post_count"}
        tables = [table for table in db.metadata.sorted_tables if table.name in affected]
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(table.delete())
            for table in tables:
                keys = [column.key for column in table.columns]
                if self.rows[table.name]:
                    conn.execute(
                        table.insert(),
                        [dict(zip(keys, row, strict=True)) for row in self.rows[table.name]],
                    )
        assert snapshot() == self.rows, f"tables {sorted(changed)} could not be put back"

    def _restore_files(self) -> None:
        for path in self.uploads.rglob("*"):
            if path.is_file() and str(path.relative_to(self.uploads)) not in self.files:
                path.unlink()
        for name, content in self.files.items():
            path = self.uploads / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        self.folder = folder_state(self.uploads)
        self.top_files = files_in(self.uploads)
