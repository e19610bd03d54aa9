"""`flask cms media orphans`: stored objects no File row refers to, and stale temporary files.

Run on both storage backends (a local folder, and a bucket of moto's S3 server).
"""

import os
import re
from datetime import datetime, timedelta

import pytest

from cms.extensions import db
from cms.models import File
from cms.services.media import file_stem, store_upload
from cms.services.orphans import find_orphans, remove_orphans
from cms.services.storage import LocalStorage, get_storage
from tests.factories import image_bytes, make_user

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ORPHAN = "0123456789abcdef0123456789abcdef.png"
ORPHAN_RENDITION = "0123456789abcdef0123456789abcdef-w400.webp"


def orphans_command(app, *args: str):
    """Run `flask cms media orphans ARGS` and return the result."""
    result = app.test_cli_runner().invoke(args=["cms", "media", "orphans", *args])
    assert result.exit_code == 0, result.output
    return result


def listed(output: str) -> set[str]:
    """Return the names the command listed."""
    return set(re.findall(r"^(?:orphaned object|stale temporary file): (\S+)$", output, re.M))


def backdate(storage, name: str, hours: float = 2) -> None:
    """Make a local file look `hours` old."""
    path = storage.path(name) if not name.startswith(".") else storage.root / name
    when = (datetime.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (when, when))


def make_library(app) -> set[str]:
    """Store an image (with thumbnail and a cached rendition) and a PDF, and 2 orphans.

    Return the names that File rows refer to.
    """
    with app.app_context():
        uploader = make_user("uploader@example.com", roles=("editor",))
        image = store_upload(db.session, image_bytes("PNG", size=(800, 600)), "a.png", uploader)
        document = store_upload(db.session, PDF, "b.pdf", uploader)
        db.session.commit()
        storage = get_storage()
        rendition = f"{file_stem(image)}-w400.webp"
        storage.save(rendition, b"rendition bytes")
        storage.save(ORPHAN, b"nobody's")
        storage.save(ORPHAN_RENDITION, b"nobody's rendition")
        kept = {image.stored_name, image.thumbnail_name, rendition, document.stored_name}
        db.session.remove()
    assert None not in kept
    return kept


@pytest.fixture
def library(backend_app) -> set[str]:
    """The library of make_library, on each backend."""
    return make_library(backend_app)


def test_lists_then_deletes_only_what_no_file_refers_to(backend_app, library):
    result = orphans_command(backend_app, "--older-than", "0")
    assert listed(result.output) == {ORPHAN, ORPHAN_RENDITION}
    assert "2 orphaned objects and 0 stale temporary files" in result.output
    with backend_app.app_context():
        assert set(get_storage().names()) == library | {ORPHAN, ORPHAN_RENDITION}

    result = orphans_command(backend_app, "--delete", "--older-than", "0")
    assert "Deleted 2 orphaned objects and 0 stale temporary files." in result.output
    with backend_app.app_context():
        assert set(get_storage().names()) == library

    result = orphans_command(backend_app, "--older-than", "0")
    assert listed(result.output) == set()
    assert "0 orphaned objects and 0 stale temporary files" in result.output


def test_young_leftovers_may_be_uploads_in_flight(backend_app, library):
    """By default only leftovers older than an hour count: a fresh one may be about to commit."""
    result = orphans_command(backend_app, "--delete")
    assert listed(result.output) == set()
    assert "Deleted 0 orphaned objects" in result.output
    with backend_app.app_context():
        storage = get_storage()
        assert {ORPHAN, ORPHAN_RENDITION} <= set(storage.names())
        if isinstance(storage, LocalStorage):
            backdate(storage, ORPHAN)
            result = orphans_command(backend_app)
            assert listed(result.output) == {ORPHAN}


def test_stale_temporary_files_are_removed(app):
    """`.tmp-*.part` files of killed writes: listed and removed once older than an hour."""
    library = make_library(app)
    with app.app_context():
        storage = get_storage()
        for name in (".tmp-old123.part", ".tmp-new456.part"):
            (storage.root / name).write_bytes(b"half an upload")
        backdate(storage, ".tmp-old123.part")
        backdate(storage, ORPHAN)
        backdate(storage, ORPHAN_RENDITION)
    result = orphans_command(app, "--delete")
    assert listed(result.output) == {".tmp-old123.part", ORPHAN, ORPHAN_RENDITION}
    assert "Deleted 2 orphaned objects and 1 stale temporary files." in result.output
    assert {path.name for path in storage.root.iterdir()} == library | {".tmp-new456.part"}


def test_an_object_that_gains_a_row_meanwhile_is_kept(backend_app, library):
    """Between listing and deleting, an upload committed a row for one object: it stays."""
    with backend_app.app_context():
        storage = get_storage()
        found = find_orphans(db.session, storage, older_than=timedelta(0))
        assert set(found.objects) == {ORPHAN, ORPHAN_RENDITION}
        db.session.add(
            File(
                stored_name=ORPHAN,
                original_name="late.png",
                content_type="image/png",
                size=8,
                sha256="0" * 64,
            )
        )
        db.session.commit()
        removed = remove_orphans(db.session, storage, found)
        # The late row's stem also claims the rendition named after it.
        assert removed.objects == []
        assert {ORPHAN, ORPHAN_RENDITION} <= set(storage.names())
