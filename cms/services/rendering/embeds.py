"""Video embeds that load nothing from the video site until the reader asks for it.

A YouTube or Vimeo address alone in a paragraph (as cmark's autolink writes an address typed
on a line of its own) becomes a placeholder: a <figure> with the video's title, its thumbnail
from the file library (imported at save time; see services.embeds) and a link "Play video
(loads content from YouTube)" to the video's page. On the public site, cms/static/embed.js
replaces the link with the player when it is clicked, building the player's address from the
validated id in `data-video` only; without script the link simply opens the video's page.

Video ids are checked strictly (YouTube: 11 of `A-Z a-z 0-9 _ -`; Vimeo: digits), here and
again in the script. Links in a sentence, other addresses and links whose text is not the
address itself stay links. This stage asks `context.library.thumbnails` and does no I/O.
"""

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from cms.services.rendering.images import attributes_of, start_tag
from cms.services.rendering.library import VideoThumbnail

YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
VIMEO_ID = re.compile(r"[0-9]{1,12}")
# Either kind of id, for the allow-list (which sees one attribute at a time).
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}|[0-9]{1,12}")
START = re.compile(r"[0-9]{1,5}")
YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
YOUTU_BE_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
VIMEO_HOSTS = frozenset({"vimeo.com", "www.vimeo.com"})
PROVIDERS = {"youtube": "YouTube", "vimeo": "Vimeo"}
# "42", "42s", "1m30s", "1h2m3s": a start time as YouTube and Vimeo write it.
TIME = re.compile(r"(?:(\d{1,2})h)?(?:(\d{1,4})m)?(?:(\d{1,5})s?)?")
# Longest start time kept (a day), in seconds.
MAX_START = 86_400
# A paragraph holding nothing but one link (as the sanitizer serializes it).
LONE_LINK = re.compile(r"<p(?: dir=\"auto\")?>\s*<a((?:\s+[a-z-]+=\"[^\"]*\")*)>([^<]*)</a>\s*</p>")
# Any address in a text, for finding the videos a body names (usage of thumbnails).
ADDRESS_IN_TEXT = re.compile(r"https?://[^\s<>()\"'\]\[]+", re.IGNORECASE)


@dataclass(frozen=True)
class Video:
    """A validated video reference: provider, id, and where to start (seconds)."""

    provider: str
    video_id: str
    start: int = 0

    @property
    def source_url(self) -> str:
        """Return the video's canonical page: the key of its thumbnail in the library."""
        if self.provider == "youtube":
            return f"https://www.youtube.com/watch?v={self.video_id}"
        return f"https://vimeo.com/{self.video_id}"

    @property
    def page_url(self) -> str:
        """Return the page readers without script are sent to (with the start time)."""
        if not self.start:
            return self.source_url
        if self.provider == "youtube":
            return f"{self.source_url}&t={self.start}s"
        return f"{self.source_url}#t={self.start}s"

    @property
    def provider_name(self) -> str:
        """Return the provider's name as readers know it."""
        return PROVIDERS[self.provider]


def _seconds(text: str | None) -> int:
    """Return a start time in seconds ("90", "90s", "1m30s"); 0 when absent or unreadable."""
    match = TIME.fullmatch((text or "").strip().lower())
    if not match or not any(match.groups()):
        return 0
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    return total if total <= MAX_START else 0


def parse_video_url(url: str) -> Video | None:
    """Return the video a YouTube or Vimeo address shows, or None for any other address."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or port is not None:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    start = _seconds((query.get("t") or query.get("start") or [""])[0])
    path = parts.path
    if host in YOUTUBE_HOSTS:
        if path in ("/watch", "/watch/"):
            ids = query.get("v") or []
            video_id = ids[0] if len(ids) == 1 else ""
        elif path.startswith("/shorts/"):
            video_id = path[len("/shorts/") :].rstrip("/")
        else:
            return None
        return Video("youtube", video_id, start) if YOUTUBE_ID.fullmatch(video_id) else None
    if host in YOUTU_BE_HOSTS:
        video_id = path.lstrip("/").rstrip("/")
        return Video("youtube", video_id, start) if YOUTUBE_ID.fullmatch(video_id) else None
    if host in VIMEO_HOSTS:
        video_id = path.strip("/")
        if not VIMEO_ID.fullmatch(video_id):
            return None
        fragment = parse_qs(parts.fragment)
        start = start or _seconds((fragment.get("t") or [""])[0])
        return Video("vimeo", video_id, start)
    return None


def video_sources(text: str | None) -> set[str]:
    """Return the canonical pages of every video address in a text (Markdown or HTML)."""
    found = set()
    for address in ADDRESS_IN_TEXT.findall(text or ""):
        video = parse_video_url(html.unescape(address))
        if video is not None:
            found.add(video.source_url)
    return found


@dataclass(frozen=True)
class EmbedLabels:
    """The words of a placeholder, in the site's language (stored HTML serves every reader)."""

    play: str
    untitled: str


def _labels(provider_name: str) -> EmbedLabels:
    """Return the placeholder's words for one provider, in the site's default language."""
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en") if has_app_context() else "en"
    if not has_app_context():
        return EmbedLabels(
            f"Play video (loads content from {provider_name})", f"Video on {provider_name}"
        )
    with force_locale(locale):
        return EmbedLabels(
            play=_("Play video (loads content from %(provider)s)", provider=provider_name),
            untitled=_("Video on %(provider)s", provider=provider_name),
        )


def placeholder(video: Video, thumbnail: VideoThumbnail | None) -> str:
    """Return the markup of one video placeholder (every value escaped)."""
    labels = _labels(video.provider_name)
    figure = {"class": "c-embed", "data-provider": video.provider, "data-video": video.video_id}
    if video.start:
        figure["data-start"] = str(video.start)
    image = ""
    if thumbnail is not None:
        # Decorative: the title is right below it. The library-images stage adds renditions.
        image = start_tag(
            "img",
            {
                "src": f"/uploads/{thumbnail.stored_name}",
                "alt": "",
                "width": str(thumbnail.width),
                "height": str(thumbnail.height),
            },
        )
    title = (thumbnail.title if thumbnail is not None else "").strip() or labels.untitled
    return (
        f"{start_tag('figure', figure)}"
        f"{start_tag('a', {'class': 'c-embed-link', 'href': video.page_url})}{image}"
        f'<span class="c-embed-play">{html.escape(labels.play)}</span></a>'
        f'<figcaption class="c-embed-title" dir="auto">{html.escape(title)}</figcaption>'
        "</figure>"
    )


def embed_videos(body: str, context) -> str:
    """Stage: turn each paragraph holding only a YouTube or Vimeo address into a placeholder."""
    if "<a" not in body:
        return body
    found: list[tuple[re.Match, Video]] = []
    for match in LONE_LINK.finditer(body):
        href = attributes_of(match.group(1)).get("href", "")
        text = html.unescape(match.group(2)).strip()
        # Only a bare address: a link with words of its own stays a link.
        if text != href:
            continue
        video = parse_video_url(href)
        if video is not None:
            found.append((match, video))
    if not found:
        return body
    thumbnails: dict[str, VideoThumbnail] = {}
    lookup = getattr(context.library, "thumbnails", None)
    if lookup is not None:
        thumbnails = lookup({video.source_url for _match, video in found})
    parts, position = [], 0
    for match, video in found:
        parts.append(body[position : match.start()])
        parts.append(placeholder(video, thumbnails.get(video.source_url)))
        position = match.end()
    parts.append(body[position:])
    return "".join(parts)
