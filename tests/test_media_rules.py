"""The media library's rules, service by service: content-named storage without duplicates,
metadata removed from images, alt text before publishing, usage, visibility, quotas and
hostile files. The dashboard side is in tests/admin/test_media_library.py.
"""

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File, FileUsage, Post, PostKind, PostStatus, utcnow
from cms.services import media, usage, workflow
from cms.services.dashboard import file_scope
from cms.services.media import UploadRejected, delete_file, store_upload
from cms.services.roles import can_change_file, can_see_file
from cms.services.storage import LocalStorage
from tests.factories import image_bytes, make_post, make_user
from tests.helpers import files_in
from tests.test_uploads import HTML, SVG, png_header


def upload(data: bytes, name: str, who) -> File:
    """Store an upload and commit it."""
    record = store_upload(db.session, data, name, who)
    db.session.commit()
    return record


def rows() -> int:
    """Return how many File rows exist."""
    return db.session.scalar(select(func.count(File.id)))


def image_markdown(record: File, label: str = "picture") -> str:
    """Return the Markdown the Files page offers for an image."""
    return f"![{label}](/uploads/{record.stored_name})"


def used_ids(post: Post) -> set[int]:
    """Return the ids of the files the post's FileUsage rows name."""
    query = select(FileUsage.file_id).where(FileUsage.post_id == post.id)
    return set(db.session.scalars(query))


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    """Return EXIF data with a GPS position (and an orientation)."""
    exif = Image.Exif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    return exif


def marked_image(size=(60, 40)) -> Image.Image:
    """Return a blue image with a red block in its top-left corner (to see how it is turned)."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 15, 10))
    return img


def encoded(img: Image.Image, fmt: str, **params) -> bytes:
    """Return an image saved in memory."""
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


# --- Deduplication by content --------------------------------------------------------------


def test_stored_names_follow_the_content(app, editor, folder):
    data = image_bytes("PNG", size=(100, 80))
    record = upload(data, "photo.png", editor)
    sha = hashlib.sha256(data).hexdigest()
    assert record.sha256 == sha
    assert record.stored_name == f"{sha}.png"
    assert record.thumbnail_name == f"{sha[:32]}-thumb.webp"
    assert media.file_stem(record) == sha[:32] == media.file_stem(record.stored_name)
    assert media.derived_name(record, "w640", "webp") == f"{sha[:32]}-w640.webp"
    assert files_in(folder) == {record.stored_name, record.thumbnail_name}


def test_files_stored_before_content_naming_keep_their_stem(ctx):
    legacy = File(stored_name="0123456789abcdef0123456789abcdef.png")
    assert media.file_stem(legacy) == "0123456789abcdef0123456789abcdef"


def test_same_bytes_are_stored_once_with_a_row_per_upload(app, editor, author, folder, monkeypatch):
    writes = []
    real_save = LocalStorage.save
    monkeypatch.setattr(
        LocalStorage,
        "save",
        lambda self, name, data: writes.append(name) or real_save(self, name, data),
    )
    data = image_bytes("PNG")
    first = upload(data, "first.png", editor)
    again = upload(data, "again.png", editor)
    theirs = upload(data, "theirs.png", author)

    # Each upload keeps its own row (name, alt text, uploader); the object is written once.
    assert len({first.id, again.id, theirs.id}) == 3
    assert {r.stored_name for r in (first, again, theirs)} == {first.stored_name}
    assert {r.thumbnail_name for r in (first, again, theirs)} == {first.thumbnail_name}
    assert sorted(writes) == sorted([first.stored_name, first.thumbnail_name])
    assert files_in(folder) == {first.stored_name, first.thumbnail_name}
    assert theirs.uploader_id == author.id


def test_a_rolled_back_copy_leaves_the_shared_object_alone(app, editor, folder):
    data = image_bytes("PNG")
    first = upload(data, "first.png", editor)
    store_upload(db.session, data, "copy.png", editor)
    db.session.rollback()
    assert files_in(folder) == {first.stored_name, first.thumbnail_name}
    assert rows() == 1


def test_the_object_goes_with_the_last_row_naming_it(app, editor, folder):
    data = image_bytes("PNG")
    first = upload(data, "first.png", editor)
    second = upload(data, "second.png", editor)
    other = upload(image_bytes("PNG", color=(1, 2, 3)), "other.png", editor)
    names = {first.stored_name, first.thumbnail_name}

    delete_file(db.session, first)
    db.session.commit()
    assert names <= files_in(folder), "another row still names the object"

    delete_file(db.session, second)
    db.session.commit()
    assert files_in(folder) == {other.stored_name, other.thumbnail_name}


def test_deleting_every_copy_in_one_transaction_removes_the_object(app, editor, folder):
    data = image_bytes("PNG")
    copies = [upload(data, f"{n}.png", editor) for n in range(3)]
    for record in copies:
        delete_file(db.session, record)
    assert files_in(folder), "nothing goes before the commit"
    db.session.commit()
    assert files_in(folder) == set() and rows() == 0


def test_registered_derived_names_go_with_the_object(app, editor, folder, monkeypatch):
    """Renditions register what they derive; the last deletion removes those too."""
    monkeypatch.setattr(media, "_derived_providers", [])
    media.register_derived_names(lambda record: [media.derived_name(record, "w320", "webp")])
    record = upload(image_bytes("PNG"), "a.png", editor)
    rendition = media.derived_name(record, "w320", "webp")
    (folder / rendition).write_bytes(b"rendition")
    assert media.derived_names(record) == [record.thumbnail_name, rendition]
    delete_file(db.session, record)
    db.session.commit()
    assert files_in(folder) == set()


def test_a_missing_object_is_written_again_for_a_new_copy(app, editor, folder):
    data = image_bytes("PNG")
    first = upload(data, "first.png", editor)
    (folder / first.stored_name).unlink()
    upload(data, "again.png", editor)
    assert (folder / first.stored_name).read_bytes() == data


# --- Metadata removed, orientation applied -------------------------------------------------


def test_jpeg_loses_gps_exif_and_is_turned_upright(app, editor, folder):
    data = encoded(marked_image((60, 40)), "JPEG", exif=exif_with_gps(orientation=6), quality=95)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test image has GPS data"

    record = upload(data, "phone.jpg", editor)

    stored = (folder / record.stored_name).read_bytes()
    assert stored != data and b"PhoneCo" not in stored
    assert record.sha256 == hashlib.sha256(stored).hexdigest()
    assert record.stored_name == f"{record.sha256}.jpg" and record.size == len(stored)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG"
        assert not img.getexif() and "exif" not in img.info
        # Orientation 6: turned a quarter clockwise, so 60 × 40 becomes 40 × 60 and the red
        # top-left corner ends up top-right.
        assert img.size == (40, 60) == (record.width, record.height)
        rgb = img.convert("RGB")
        red, blue = rgb.getpixel((36, 3)), rgb.getpixel((3, 3))
        assert red[0] > 200 and red[2] < 60, red
        assert blue[2] > 200 and blue[0] < 60, blue
    with Image.open(folder / record.thumbnail_name) as thumb:
        assert thumb.height > thumb.width


def test_jpeg_comments_and_xmp_are_removed(app, editor, folder):
    data = encoded(
        marked_image(), "JPEG", comment=b"home address", xmp=b"<x:xmpmeta>GPS</x:xmpmeta>"
    )
    record = upload(data, "a.jpg", editor)
    stored = (folder / record.stored_name).read_bytes()
    assert b"home address" not in stored and b"xmpmeta" not in stored
    assert (record.width, record.height) == (60, 40)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_lose_their_exif(app, editor, folder, fmt):
    data = encoded(marked_image(), fmt, exif=exif_with_gps())
    record = upload(data, f"a.{fmt.lower()}", editor)
    stored = (folder / record.stored_name).read_bytes()
    assert b"PhoneCo" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == fmt and not img.getexif()
        assert img.size == (60, 40)


def test_png_text_chunks_are_removed(app, editor, folder):
    info = PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_text("Comment", "Taken at 12 Main Street")
    record = upload(encoded(marked_image(), "PNG", pnginfo=info), "a.png", editor)
    stored = (folder / record.stored_name).read_bytes()
    assert b"Jane Doe" not in stored and b"Main Street" not in stored


def test_images_without_metadata_are_re_encoded_too(app, editor, folder):
    # Every image is re-encoded (tests/test_reencode.py); a PNG keeps its exact pixels.
    for fmt in ("PNG", "JPEG", "WEBP"):
        data = image_bytes(fmt, color=(9, 9, 9))
        record = upload(data, f"a.{fmt.lower()}", editor)
        with Image.open(folder / record.stored_name) as stored, Image.open(io.BytesIO(data)) as img:
            assert stored.format == fmt and stored.size == img.size, fmt
            if fmt == "PNG":
                assert stored.tobytes() == img.tobytes()


def animated(fmt: str, **params) -> bytes:
    """Return a three-frame animation."""
    frames = [Image.new("RGB", (30, 20), color) for color in ("red", "lime", "blue")]
    return encoded(
        frames[0], fmt, save_all=True, append_images=frames[1:], duration=[100, 200, 300],
        loop=0, **params,
    )  # fmt: skip


def frame_durations(data: bytes) -> list:
    """Return the duration of every frame of an animation."""
    durations = []
    with Image.open(io.BytesIO(data)) as img:
        for index in range(img.n_frames):
            img.seek(index)
            img.load()
            durations.append(img.info.get("duration"))
    return durations


def test_animated_gifs_keep_their_frames(app, editor, folder):
    data = animated("GIF")
    record = upload(data, "anim.gif", editor)
    stored = (folder / record.stored_name).read_bytes()
    # Re-encoded frame by frame (tests/test_reencode.py), frames and timing kept.
    assert frame_durations(stored) == [100, 200, 300]


def test_animated_webp_loses_exif_but_keeps_its_frames(app, editor, folder):
    data = animated("WEBP", exif=exif_with_gps())
    record = upload(data, "anim.webp", editor)
    stored = (folder / record.stored_name).read_bytes()
    assert stored != data and b"PhoneCo" not in stored
    assert frame_durations(stored) == [100, 200, 300]


def test_phone_jpegs_with_a_second_picture_are_stored_as_plain_jpeg(app, editor, folder):
    first, second = marked_image(), Image.new("RGB", (60, 40), "green")
    data = encoded(first, "MPO", save_all=True, append_images=[second], exif=exif_with_gps(6))
    record = upload(data, "IMG_0001.JPG", editor)
    assert record.content_type == "image/jpeg" and record.stored_name.endswith(".jpg")
    with Image.open(folder / record.stored_name) as img:
        assert img.format == "JPEG" and not img.getexif()
        assert img.size == (40, 60) and getattr(img, "n_frames", 1) == 1


# --- Hostile files -------------------------------------------------------------------------


def test_html_renamed_to_jpg_is_refused(app, editor, folder):
    with pytest.raises(UploadRejected, match="not allowed"):
        store_upload(db.session, HTML, "holiday.jpg", editor)
    db.session.rollback()
    assert files_in(folder) == set() and rows() == 0


def test_svg_with_a_script_is_refused(app, editor, folder):
    for name in ("logo.svg", "logo.png"):
        with pytest.raises(UploadRejected, match="not allowed"):
            store_upload(db.session, SVG, name, editor)
    db.session.rollback()
    assert files_in(folder) == set() and rows() == 0


def test_a_30000_pixel_square_png_is_refused_before_decoding(app, editor, folder, monkeypatch):
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(
        "PIL.ImageFile.ImageFile.load", lambda self: decoded.append(1) or real_load(self)
    )
    with pytest.raises(UploadRejected, match="too large"):
        store_upload(db.session, png_header(30_000, 30_000), "huge.png", editor)
    assert decoded == []
    db.session.rollback()
    assert files_in(folder) == set() and rows() == 0


@pytest.mark.parametrize(
    "name",
    [
        "../../<script>alert(1)</script>.png",
        "..\\..\\evil<script>.png",
        "<img src=x onerror=alert(1)>.png",
        "\u202egnp.exe.png",
    ],
)
def test_hostile_names_are_cleaned_and_never_used_for_storage(app, editor, folder, name):
    record = upload(image_bytes("PNG"), name, editor)
    shown = record.original_name
    assert shown and not set(shown) & set("<>/\\\u202e"), shown
    assert not shown.startswith("..")
    assert record.stored_name == f"{record.sha256}.png"
    assert files_in(folder) == {record.stored_name, record.thumbnail_name}


# --- Quotas --------------------------------------------------------------------------------


def test_file_count_quota_includes_editors(app, editor, folder, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILES_PER_USER", 2)
    upload(image_bytes(color=(1, 0, 0)), "1.png", editor)
    upload(image_bytes(color=(2, 0, 0)), "2.png", editor)
    with pytest.raises(UploadRejected, match="limit of 2 files"):
        store_upload(db.session, image_bytes(color=(3, 0, 0)), "3.png", editor)
    db.session.rollback()
    assert rows() == 2 and len(files_in(folder)) == 4
    # Someone else still may.
    other = make_user("other@example.com", roles=("author",))
    upload(image_bytes(color=(3, 0, 0)), "3.png", other)


def test_byte_quota_counts_each_stored_object_once(app, editor, monkeypatch):
    data = image_bytes("PNG", color=(5, 5, 5))
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES_PER_USER", len(data) + 10)
    upload(data, "a.png", editor)
    # The same bytes again take no more room.
    upload(data, "again.png", editor)
    with pytest.raises(UploadRejected, match="past your limit of") as refused:
        store_upload(db.session, image_bytes("PNG", color=(6, 6, 6)), "b.png", editor)
    assert f"{len(data) + 10} B" in str(refused.value).replace("\u202f", " ").replace(",", "")
    db.session.rollback()
    assert rows() == 2


def test_zero_means_no_limit(app, editor, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILES_PER_USER", 0)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES_PER_USER", 0)
    for number in range(3):
        upload(image_bytes(color=(number, 1, 1)), f"{number}.png", editor)
    assert rows() == 3


def test_quota_defaults(app):
    assert app.config["MAX_FILES_PER_USER"] == 1000
    assert app.config["MAX_UPLOAD_BYTES_PER_USER"] == 1024**3


# --- Usage ---------------------------------------------------------------------------------


def test_usage_follows_the_body_and_social_image_on_every_save(app, editor):
    photo = upload(image_bytes(color=(1, 1, 1)), "photo.png", editor)
    social = upload(image_bytes(color=(2, 2, 2)), "social.png", editor)
    paper = upload(b"%PDF-1.4\n%%EOF\n", "paper.pdf", editor)
    post = make_post(
        editor,
        status=PostStatus.DRAFT,
        body=f"{image_markdown(photo)}\n\n[Paper](http://example.org/uploads/{paper.stored_name})",
    )
    assert used_ids(post) == {photo.id, paper.id}
    assert usage.users_of(photo) == [post]

    post.body_md = "No files any more."
    post.social_image = social
    db.session.commit()
    assert used_ids(post) == {social.id}
    assert usage.users_of(photo) == []

    # Thumbnails and renditions of a file name it too.
    post.body_md = f"![x](/media/{media.derived_name(photo, 'w640', 'webp')}) "
    post.body_md += f"![y](/uploads/{photo.thumbnail_name})"
    post.social_image = None
    db.session.commit()
    assert used_ids(post) == {photo.id}


def test_pages_and_trashed_posts_count_as_users(app, editor):
    photo = upload(image_bytes(), "photo.png", editor)
    page = make_post(editor, body=image_markdown(photo), kind=PostKind.PAGE)
    trashed = make_post(editor, body=image_markdown(photo), status=PostStatus.TRASHED)
    assert {post.id for post in usage.users_of(photo)} == {page.id, trashed.id}


def test_a_body_naming_an_object_uses_every_copy_of_it(app, editor, author):
    data = image_bytes()
    mine = upload(data, "mine.png", editor)
    post = make_post(editor, status=PostStatus.DRAFT, body=image_markdown(mine))
    # A copy uploaded later joins the posts already showing the object.
    theirs = upload(data, "theirs.png", author)
    assert used_ids(post) == {mine.id, theirs.id}


def test_deleting_a_post_for_good_drops_its_usage(app, editor):
    photo = upload(image_bytes(), "photo.png", editor)
    post = make_post(editor, body=image_markdown(photo))
    db.session.delete(post)
    db.session.commit()
    assert usage.users_of(photo) == []
    assert db.session.scalar(select(func.count()).select_from(FileUsage)) == 0


def test_delete_blockers(app, editor):
    data = image_bytes()
    first = upload(data, "first.png", editor)
    copy = upload(data, "copy.png", editor)
    social = upload(image_bytes(color=(3, 3, 3)), "social.png", editor)
    unused = upload(image_bytes(color=(4, 4, 4)), "unused.png", editor)
    post = make_post(editor, body=image_markdown(first), social_image=social)

    # Another copy keeps the object the body shows; the social image is that row itself.
    assert usage.delete_blockers([first]) == {}
    assert usage.delete_blockers([first, copy]) == {first: [post], copy: [post]}
    assert usage.delete_blockers([social]) == {social: [post]}
    assert usage.delete_blockers([unused]) == {}


# --- Alt text ------------------------------------------------------------------------------


def test_images_missing_alt_and_alt_for(app, editor, author):
    photo = upload(image_bytes(color=(1, 1, 1)), "photo.png", editor)
    divider = upload(image_bytes(color=(2, 2, 2)), "divider.png", editor)
    social = upload(image_bytes(color=(3, 3, 3)), "social.png", editor)
    paper = upload(b"%PDF-1.4\n%%EOF\n", "paper.pdf", editor)
    body = f"{image_markdown(photo)} {image_markdown(divider)} [p](/uploads/{paper.stored_name})"
    post = make_post(editor, status=PostStatus.DRAFT, body=body, social_image=social)

    assert media.images_missing_alt(post) == [divider, photo, social]
    assert media.alt_for(photo.stored_name) is None

    photo.alt_text = "  A red square  "
    divider.decorative = True
    db.session.commit()
    assert media.images_missing_alt(post) == [social]
    assert media.alt_for(photo.stored_name) == "A red square"
    assert media.alt_for(photo.thumbnail_name) == "A red square"
    assert media.alt_for(divider.stored_name) == ""
    assert media.alt_for("0" * 64 + ".png") is None

    # A copy's description counts for the object it shares.
    copy = upload(image_bytes(color=(3, 3, 3)), "social copy.png", author)
    copy.alt_text = "Our logo"
    db.session.commit()
    assert media.images_missing_alt(post) == []
    assert media.alt_for(social.stored_name) == "Our logo"


def test_unsaved_changes_are_checked_without_flushing(app, editor):
    photo = upload(image_bytes(), "photo.png", editor)
    post = Post(title="New", body_md=image_markdown(photo), author=editor)
    db.session.add(post)
    # The post has no slug yet: a flush would fail.
    assert media.images_missing_alt(post) == [photo]
    db.session.rollback()


def test_publishing_is_refused_until_every_image_is_described(app, editor):
    photo = upload(image_bytes(), "Harbour <dawn>.png", editor)
    post = make_post(editor, status=PostStatus.REVIEW, body=image_markdown(photo))
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.apply(post, "publish", editor)
    message = str(refused.value)
    assert "alt text" in message and "“Harbour dawn.png”" in message
    assert post.status == PostStatus.REVIEW

    photo.alt_text = "Boats leaving the harbour at dawn"
    workflow.apply(post, "publish", editor)
    db.session.commit()
    assert post.status == PostStatus.PUBLISHED


def test_publishing_renders_the_alt_text_given_in_the_library_since_the_save(app, editor):
    photo = upload(image_bytes(), "photo.png", editor)
    post = make_post(editor, status=PostStatus.REVIEW, body=f"![](/uploads/{photo.stored_name})")
    photo.alt_text = "Boats & nets"
    workflow.apply(post, "publish", editor)
    db.session.commit()
    assert 'alt="Boats &amp; nets"' in post.body_html


def test_other_moves_do_not_need_alt_text(app, editor):
    photo = upload(image_bytes(), "photo.png", editor)
    post = make_post(editor, status=PostStatus.REVIEW, body=image_markdown(photo))
    workflow.apply(post, "send_back", editor, note="More text please")
    workflow.apply(post, "trash", editor)
    db.session.commit()


def test_clean_alt_text():
    assert media.clean_alt_text(" Two\nlines\tand\x00 a  NUL ") == "Two lines and a NUL"
    assert media.clean_alt_text(None) == ""


# --- Visibility ----------------------------------------------------------------------------


def visible_ids(user) -> set[int]:
    """Return the ids of the files the dashboard lists for this person."""
    return set(db.session.scalars(select(File.id).where(file_scope(user))))


def test_authors_see_own_files_and_those_of_public_posts(app, editor, author):
    own = upload(image_bytes(color=(1, 1, 1)), "own.png", author)
    public = upload(image_bytes(color=(2, 2, 2)), "public.png", editor)
    public.alt_text = "Shown"
    in_draft = upload(image_bytes(color=(3, 3, 3)), "draft.png", editor)
    scheduled = upload(image_bytes(color=(4, 4, 4)), "scheduled.png", editor)
    expired = upload(image_bytes(color=(5, 5, 5)), "expired.png", editor)
    private = upload(image_bytes(color=(6, 6, 6)), "private.png", editor)
    make_post(editor, body=image_markdown(public))
    make_post(editor, status=PostStatus.DRAFT, body=image_markdown(in_draft))
    make_post(editor, body=image_markdown(scheduled), published_at=utcnow() + timedelta(days=1))
    make_post(editor, body=image_markdown(expired), unpublish_at=utcnow() - timedelta(minutes=1))

    assert visible_ids(author) == {own.id, public.id}
    for record in (own, public, in_draft, scheduled, expired, private):
        assert can_see_file(author, record) == (record.id in {own.id, public.id}), record
    # Seeing is not changing: authors change only their own uploads.
    assert can_change_file(author, own) and not can_change_file(author, public)
    assert visible_ids(editor) == {
        r.id for r in (own, public, in_draft, scheduled, expired, private)
    }
    assert all(can_change_file(editor, record) for record in (own, public, private))
