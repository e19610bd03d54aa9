"""Images and video thumbnails from other hosts, imported into the file library at save time.

A post's `![alt](https://other.host/x.png)` is fetched through the guard (services.fetch),
checked and re-encoded like an upload (media.store_upload, the writer's quota included) and the
Markdown is rewritten to `/uploads/<stored name>`, alt text kept. For a YouTube or Vimeo
address alone on a line, the video's title and thumbnail are asked of the site's oEmbed
endpoint and the thumbnail is stored the same way, under the video's page address
(File.source_url), for the embed placeholder (rendering/embeds.py). Every address is imported
once: File.source_url remembers where a file came from.

A save does this in two steps, so the network never holds the database's write lock:
`fetch_for_save` (the read phase: fetching, and addresses imported before rewritten at once)
and `store_for_save` (the write phase: storing, rewriting, rendering again). Whatever cannot be
imported stays in the Markdown (shown as a link by rendering/offsite.py, or as a placeholder
without picture) and the writer gets a note saying which address and why.
"""

import html
import io
import json
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlsplit

from flask import current_app
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import select

from cms.extensions import db
from cms.models import File, Post
from cms.services import fetch, media, usage
from cms.services.rendering import markdown_to_html
from cms.services.rendering.embeds import LONE_LINK, Video, parse_video_url
from cms.services.rendering.images import IMG_TAG, attributes_of

# The oEmbed endpoints (module constants, so tests may point them at a local server).
OEMBED_ENDPOINTS = {
    "youtube": "https://www.youtube.com/oembed?format=json&url=",
    "vimeo": "https://vimeo.com/api/oembed.json?url=",
}
# Largest oEmbed answer read.
OEMBED_MAX_BYTES = 64 * 1024
MAX_TITLE_LENGTH = 300
# An inline image in Markdown: `![alt](destination "title")`; the destination is group 2.
MARKDOWN_IMAGE = re.compile(r"!\[((?:[^\[\]\\\n]|\\.){0,1000})\]\(\s*(<[^<>\n]*>|[^\s()<>]+)")
# Fenced code blocks: their contents are never rewritten.
FENCE = re.compile(r"(?ms)^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[`~]*[ \t]*$|\Z)")
ACCEPT_IMAGES = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"


@dataclass
class Fetched:
    """What the read phase got for one address: bytes to store, or why not."""

    url: str
    data: bytes | None = None
    name: str = ""
    alt: str = ""
    # For a video thumbnail: the video it belongs to and its title.
    video: Video | None = None
    title: str = ""


@dataclass
class Imports:
    """What one save imports: fetched files waiting to be stored, and notes for the writer."""

    images: list[Fetched] = field(default_factory=list)
    thumbnails: list[Fetched] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.images or self.thumbnails)

    def undescribed(self) -> list[str]:
        """Return the addresses of the fetched images whose Markdown gives no alt text."""
        return [item.url for item in self.images if not item.alt.strip()]


# --- Finding what a body shows --------------------------------------------------------------


def is_external(url: str) -> bool:
    """Return whether an image address is on another host (http, https or scheme-relative)."""
    return url.strip().lower().startswith(("http://", "https://", "//"))


def external_images(body_md: str) -> list[tuple[str, str]]:
    """Return (alt, address) of every image on another host, in order, each address once.

    The addresses are those cmark itself sees as images (not text in code), as it writes them.
    """
    found: dict[str, str] = {}
    for match in IMG_TAG.finditer(markdown_to_html(body_md or "")):
        attributes = attributes_of(match.group(1))
        src = attributes.get("src", "")
        if is_external(src) and src not in found:
            found[src] = attributes.get("alt", "")
    return [(alt, url) for url, alt in found.items()]


def lone_videos(body_md: str) -> list[Video]:
    """Return the videos whose address stands alone on a line (the embeds), each once."""
    found: dict[str, Video] = {}
    for match in LONE_LINK.finditer(markdown_to_html(body_md or "")):
        href = attributes_of(match.group(1)).get("href", "")
        if html.unescape(match.group(2)).strip() != href:
            continue
        video = parse_video_url(href)
        if video is not None:
            found.setdefault(video.source_url, video)
    return list(found.values())


def _masked(body_md: str) -> str:
    """Return the Markdown with fenced code blocks blanked out (same length)."""
    return FENCE.sub(lambda match: " " * len(match.group(0)), body_md)


def _image_src(destination: str) -> str:
    """Return the address cmark makes of a Markdown image destination."""
    rendered = markdown_to_html(f"![]({destination})")
    match = IMG_TAG.search(rendered)
    return attributes_of(match.group(1)).get("src", "") if match else ""


def rewrite_images(body_md: str, addresses: dict[str, str]) -> str:
    """Return the Markdown with image destinations in `addresses` (as cmark writes them)
    replaced by the new address; alt text, titles and code blocks stay as they are."""
    if not addresses:
        return body_md
    masked = _masked(body_md)
    parts, position = [], 0
    for match in MARKDOWN_IMAGE.finditer(masked):
        destination = match.group(2)
        new = addresses.get(_image_src(destination))
        if new is None:
            continue
        parts.append(body_md[position : match.start(2)])
        parts.append(new)
        position = match.end(2)
    parts.append(body_md[position:])
    return "".join(parts)


# --- The read phase -------------------------------------------------------------------------


def _imported(urls: set[str]) -> dict[str, File]:
    """Return the library's files imported from these addresses before, by address."""
    if not urls:
        return {}
    with db.session.no_autoflush:
        rows = db.session.scalars(
            select(File).where(File.source_url.in_(urls)).order_by(File.id)
        ).all()
    found: dict[str, File] = {}
    for row in rows:
        if row.is_image:
            found.setdefault(row.source_url, row)
    return found


def _image_name(url: str, data: bytes) -> str | None:
    """Return a display name for fetched bytes, with the extension of their image type.

    None when the bytes are no image type we take (the upload checks decide the rest).
    """
    try:
        with warnings.catch_warnings():
            # Only the format is read here; store_upload checks the size limits properly.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                kind = img.format
    except Image.DecompressionBombError:
        # An image after all, far too large: store_upload refuses it with the right words.
        kind = "PNG"
    except Exception:
        return None
    if kind not in media.IMAGE_TYPES:
        return None
    extension = media.IMAGE_TYPES[kind][1]
    stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    return f"{stem[:100]}.{extension}"


def _max_bytes() -> int:
    """Return the most an imported file may weigh (EXTERNAL_IMAGE_MAX_BYTES, upload limit)."""
    config = current_app.config
    return min(int(config["EXTERNAL_IMAGE_MAX_BYTES"]), int(config["MAX_CONTENT_LENGTH"]))


def _limits(max_bytes: int, deadline: float) -> fetch.Limits:
    """Return the fetch limits, the time left to this save's fetching included."""
    lim = fetch.limits(max_bytes)
    return replace(lim, timeout=max(min(lim.timeout, deadline - time.monotonic()), 0))


def _fetch_image(url: str, deadline: float) -> tuple[bytes, str] | str:
    """Return (bytes, name) of an image, or the note saying why it could not be had."""
    target = "https:" + url if url.startswith("//") else url
    try:
        got = fetch.fetch(target, _limits(_max_bytes(), deadline), accept=ACCEPT_IMAGES)
    except fetch.FetchRefused as refused:
        return _(
            "%(address)s could not be fetched: %(reason)s.", address=url, reason=refused.message
        )
    name = _image_name(got.url, got.body)
    if name is None:
        return _("%(address)s is not an image.", address=url)
    return got.body, name


def _oembed(video: Video, deadline: float) -> tuple[str, str]:
    """Return the video's (title, thumbnail address) from its site's oEmbed endpoint."""
    endpoint = OEMBED_ENDPOINTS[video.provider] + quote(video.source_url, safe="")
    got = fetch.fetch(endpoint, _limits(OEMBED_MAX_BYTES, deadline), accept="application/json")
    try:
        data = json.loads(got.body.decode("utf-8"))
    except ValueError:
        raise fetch.FetchRefused("network", endpoint) from None
    if not isinstance(data, dict):
        raise fetch.FetchRefused("network", endpoint)
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    thumbnail = data.get("thumbnail_url") if isinstance(data.get("thumbnail_url"), str) else ""
    title = "".join(ch if ch.isprintable() else " " for ch in title)
    return " ".join(title.split())[:MAX_TITLE_LENGTH], thumbnail


def fetch_for_save(post: Post) -> Imports:
    """The read phase: fetch what the body shows from other hosts and is not imported yet.

    Addresses imported before are rewritten in `post.body_md` right away. Reads the database,
    never writes it; call it before rendering, with no autoflush.
    """
    config = current_app.config
    imports = Imports()
    if "//" not in (post.body_md or ""):
        return imports  # no address of another host at all
    budget = int(config.get("EXTERNAL_IMAGES_PER_SAVE", 10))
    # The whole save waits for this: after EXTERNAL_IMPORT_SECONDS the rest waits for the next.
    deadline = time.monotonic() + float(config.get("EXTERNAL_IMPORT_SECONDS", 30))
    left_out = 0
    if config.get("EXTERNAL_IMAGES", "import") != "allow":
        images = external_images(post.body_md or "")
        known = _imported({url for _alt, url in images})
        post.body_md = rewrite_images(
            post.body_md or "",
            {url: f"/uploads/{row.stored_name}" for url, row in known.items()},
        )
        for alt, url in images:
            if url in known:
                continue
            if budget <= 0 or time.monotonic() >= deadline:
                left_out += 1
                continue
            budget -= 1
            result = _fetch_image(url, deadline)
            if isinstance(result, str):
                imports.notes.append(_image_note(result))
                continue
            imports.images.append(Fetched(url=url, data=result[0], name=result[1], alt=alt))
    videos = lone_videos(post.body_md or "")
    known_videos = _imported({video.source_url for video in videos})
    for video in videos:
        if video.source_url in known_videos:
            continue
        if budget <= 0 or time.monotonic() >= deadline:
            left_out += 1
            continue
        budget -= 1
        imports.thumbnails.extend(_fetch_thumbnail(video, imports.notes, deadline))
    if left_out:
        imports.notes.append(
            ngettext(
                "%(num)d more picture from another host is imported when you save again (one "
                "save imports at most %(limit)s, within %(seconds)s seconds); until then it is "
                "shown as a link.",
                "%(num)d more pictures from other hosts are imported when you save again (one "
                "save imports at most %(limit)s, within %(seconds)s seconds); until then they "
                "are shown as links.",
                left_out,
                limit=int(config.get("EXTERNAL_IMAGES_PER_SAVE", 10)),
                seconds=format_decimal(float(config.get("EXTERNAL_IMPORT_SECONDS", 30))),
            )
        )
    return imports


def missing_alt_message(urls: list[str]) -> str:
    """Return the refusal to publish a body with images from other hosts that lack alt text."""
    return _(
        "This cannot be published yet: every image needs alt text (a short description for "
        "people who cannot see it). Write it in the Markdown, like ![A red kite over the "
        "hill](address), for: %(addresses)s",
        addresses=", ".join(urls),
    )


def _image_note(problem: str) -> str:
    """Return the note for an image that stays a link."""
    return _("The image %(problem)s It is shown as a link.", problem=problem)


def _fetch_thumbnail(video: Video, notes: list[str], deadline: float) -> list[Fetched]:
    """Return the video's thumbnail to store (one item), or none with a note saying why."""
    try:
        title, thumbnail_url = _oembed(video, deadline)
        if not thumbnail_url:
            raise fetch.FetchRefused("status", video.source_url, status=404)
        result = _fetch_image(thumbnail_url, deadline)
    except fetch.FetchRefused as refused:
        result = _(
            "%(address)s could not be fetched: %(reason)s.",
            address=video.source_url,
            reason=refused.message,
        )
    if isinstance(result, str):
        notes.append(
            _(
                "The title and picture of the video %(address)s could not be fetched, so it "
                "is shown with a plain placeholder (%(problem)s)",
                address=video.source_url,
                problem=result,
            )
        )
        return []
    data, name = result
    return [Fetched(url=video.source_url, data=data, name=name, video=video, title=title)]


# --- The write phase -----------------------------------------------------------------------


def store_for_save(post: Post, imports: Imports, uploader) -> bool:
    """The write phase: store what was fetched, rewrite the body; return whether it changed.

    Each file goes through media.store_upload (content checks, re-encoding, the uploader's
    quota); a refused one stays a link (or a plain placeholder) and adds a note. The caller
    renders the body again when this returns True.
    """
    session = db.session
    addresses: dict[str, str] = {}
    stored_thumbnail = False
    for item in [*imports.images, *imports.thumbnails]:
        try:
            # Refusals come before anything is written (content, limits, quota).
            record = media.store_upload(session, item.data, item.name, uploader)
        except media.UploadRejected as rejected:
            if item.video is None:
                imports.notes.append(
                    _image_note(
                        _(
                            "%(address)s was not imported: %(reason)s",
                            address=item.url,
                            reason=str(rejected),
                        )
                    )
                )
            continue
        record.source_url = item.url
        if item.video is not None:
            # The title is written beside the picture: the picture itself says nothing more.
            record.source_title = item.title
            record.decorative = True
            stored_thumbnail = True
        else:
            record.alt_text = media.clean_alt_text(item.alt)
            addresses[item.url] = f"/uploads/{record.stored_name}"
    session.flush()
    before = post.body_md
    post.body_md = rewrite_images(post.body_md or "", addresses)
    if stored_thumbnail and post.id is not None:
        # The new thumbnails are shown by the post although its body names them not.
        usage.refresh(post, session)
    return post.body_md != before or stored_thumbnail
