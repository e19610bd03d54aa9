"""Markdown to safe HTML, done once when content is saved.

Parsing (services.markdown_parser) is linear in the size of the body, whatever its characters;
bodies are capped at MAX_BODY_CHARS where they come in (forms, preview).

Images from the file library (`/uploads/<stored name>`) are made responsive at the same time:
a <picture> with a WebP <source>, `srcset`/`sizes` pointing at the renditions (served from
`/media/`, made on their first request), the image's width and height, lazy loading, and the
library's alt text when the Markdown gave none. Public pages only send the stored HTML.
"""

import html
import re

import nh3
from flask import current_app, has_app_context

from cms.services.markdown_parser import markdown_to_html

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height", "loading"},
    "code": {"class"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
# Added only by the renderer itself, to library images (the author's own srcset is dropped).
RESPONSIVE_TAGS = {"picture", "source"}
RESPONSIVE_ATTRIBUTES = {
    "source": {"srcset", "sizes", "type", "width", "height"},
    "img": {"srcset", "sizes", "decoding"},
}
# Everything else (javascript:, data:, vbscript:) is dropped; relative links are kept.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXCERPT_LENGTH = 240
# Longest body, in characters, when the app's MAX_BODY_CHARS is out of reach (no app context).
DEFAULT_MAX_BODY_CHARS = 200_000


# Deepest nesting of tags passed to the sanitizer (see limit_nesting).
MAX_HTML_DEPTH = 100
# The start of a start or end tag, and elements that have no end tag.
TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip

# Where a library image's address starts; only these images get renditions.
UPLOADS_PREFIX = "/uploads/"
# The post column of the public site (site.css: --measure 44rem, less 1rem padding each side).
NARROW_SCREEN = "44rem"
COLUMN_WIDTH = "40rem"
COLUMN_PIXELS = 640
# One <img> as html5ever (nh3) writes it: every attribute as name="value".
IMG_TAG = re.compile(r'<img((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*/?>')
ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')
SRCSET_URL = re.compile(r"^/(?:media|uploads)/[a-z0-9][a-z0-9_-]*\.[a-z0-9]{1,8}$")


def render_markdown(source: str) -> str:
    """Return sanitized HTML for Markdown source; sanitizing is the last step.

    The author's HTML goes through the allow-list first; then library images are made
    responsive, and the result goes through the (slightly wider) allow-list once more.
    """
    raw = limit_nesting(markdown_to_html(source or ""))
    clean = sanitize_html(raw)
    if not has_app_context() or "<img" not in clean:
        return clean
    return sanitize_html(responsive_images(clean), responsive=True)


def limit_nesting(raw: str, depth: int = MAX_HTML_DEPTH) -> str:
    """Return `raw` with every tag that would open deeper than `depth` shown as text.

    The sanitizer's HTML parser slows down with the square of the nesting (100 KB of `<div>`
    took seconds); no real post nests tags this deep. A `<` written as `&lt;` only ever makes
    the markup safer, and the sanitizer still runs afterwards.
    """
    open_tags = 0

    def visit(match: re.Match) -> str:
        nonlocal open_tags
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            open_tags = max(open_tags - 1, 0)
        elif name not in VOID_ELEMENTS:
            if open_tags >= depth:
                return "&lt;" + match.group(0)[1:]
            open_tags += 1
        return match.group(0)

    return TAG_START.sub(visit, raw)


def max_body_chars() -> int:
    """Return the longest Markdown body accepted, in characters (setting MAX_BODY_CHARS)."""
    if has_app_context():
        return int(current_app.config.get("MAX_BODY_CHARS", DEFAULT_MAX_BODY_CHARS))
    return DEFAULT_MAX_BODY_CHARS


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Keep a srcset only when every candidate is one of our own stored files."""
    if attribute != "srcset":
        return value
    for candidate in value.split(","):
        parts = candidate.split()
        if not parts or not SRCSET_URL.match(parts[0]):
            return None
    return value


def sanitize_html(raw: str, *, responsive: bool = False) -> str:
    """Return `raw` with everything outside the allow-list removed.

    `responsive` also allows what the renderer adds to library images (picture, source,
    srcset, sizes, decoding); never use it on HTML that has not been sanitized without it.
    """
    tags, attributes = ALLOWED_TAGS, ALLOWED_ATTRIBUTES
    if responsive:
        tags = tags | RESPONSIVE_TAGS
        attributes = {
            tag: ALLOWED_ATTRIBUTES.get(tag, set()) | RESPONSIVE_ATTRIBUTES.get(tag, set())
            for tag in ALLOWED_ATTRIBUTES.keys() | RESPONSIVE_ATTRIBUTES.keys()
        }
    return nh3.clean(
        raw,
        tags=tags,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "svg", "math"},
        attributes=attributes,
        attribute_filter=_keep_attribute if responsive else None,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# --- Library images -----------------------------------------------------------------------


def _attributes(text: str) -> dict[str, str]:
    """Return the attributes of a serialized tag, unescaped."""
    return {name.lower(): html.unescape(value or "") for name, value in ATTRIBUTE.findall(text)}


def _tag(name: str, attributes: dict[str, str]) -> str:
    """Return a start tag with escaped attribute values."""
    parts = "".join(
        f' {key}="{html.escape(value, quote=True)}"' for key, value in attributes.items()
    )
    return f"<{name}{parts}>"


def _library_name(attributes: dict[str, str]) -> str | None:
    """Return the stored name an <img> shows, if it points at the file library."""
    src = attributes.get("src", "")
    if not src.startswith(UPLOADS_PREFIX):
        return None
    name = src[len(UPLOADS_PREFIX) :]
    return name if SRCSET_URL.match(src) else None


def sizes_for(width: int) -> str:
    """Return `sizes` for an image of this width shown in the post column."""
    if width < COLUMN_PIXELS:
        return f"(max-width: {NARROW_SCREEN}) calc(100vw - 2rem), {width}px"
    return f"(max-width: {NARROW_SCREEN}) calc(100vw - 2rem), {COLUMN_WIDTH}"


def _library_alt(record) -> str | None:
    """Return the library's alt text for an image ("" if decorative, None if undescribed)."""
    from cms.services import media

    helper = getattr(media, "alt_for", None)
    if helper is not None:
        return helper(record.stored_name)
    if record.decorative:
        return ""
    return (record.alt_text or "").strip() or None


def _library_images(names: set[str]) -> dict:
    """Return {stored name: File} for the library images among `names`."""
    from sqlalchemy import select

    from cms.extensions import db
    from cms.models import File

    with db.session.no_autoflush:
        rows = db.session.scalars(
            select(File).where(File.stored_name.in_(names)).order_by(File.id)
        ).all()
    found = {}
    for row in rows:
        if row.is_image and row.width and row.height:
            found.setdefault(row.stored_name, row)
    return found


def _candidates(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{url} {width}w" for url, width in pairs)


def _responsive(attributes: dict[str, str], record) -> str:
    """Return the markup of one library image: <picture> with WebP, or an <img srcset>."""
    from cms.services import renditions

    img = {key: attributes[key] for key in ("src", "alt", "title") if key in attributes}
    if not img.get("alt", "").strip():
        described = _library_alt(record)
        img["alt"] = described if described is not None else img.get("alt", "")
    width, height = record.width, record.height
    given_w, given_h = attributes.get("width", ""), attributes.get("height", "")
    if given_w or given_h:
        # The author chose a size: keep it as given.
        img.update(
            {key: value for key, value in (("width", given_w), ("height", given_h)) if value}
        )
        shown = int(given_w) if given_w.isdigit() and 0 < int(given_w) < width else width
    else:
        img["width"], img["height"] = str(width), str(height)
        shown = width
    sizes = sizes_for(shown)
    srcset = renditions.srcset_for(record)
    if srcset.original:
        img["srcset"] = _candidates(srcset.original)
        img["sizes"] = sizes
    img["loading"] = "lazy"
    img["decoding"] = "async"
    tag = _tag("img", img)
    if not srcset.webp:
        return tag
    source = {"type": "image/webp", "srcset": _candidates(srcset.webp), "sizes": sizes}
    return f"<picture>{_tag('source', source)}{tag}</picture>"


def responsive_images(clean: str) -> str:
    """Return sanitized HTML with its library images made responsive (see the module doc)."""
    found = [(match, _attributes(match.group(1))) for match in IMG_TAG.finditer(clean)]
    names = {name for _match, attrs in found if (name := _library_name(attrs))}
    if not names:
        return clean
    records = _library_images(names)
    if not records:
        return clean

    def replace(match: re.Match) -> str:
        attributes = _attributes(match.group(1))
        record = records.get(_library_name(attributes) or "")
        return match.group(0) if record is None else _responsive(attributes, record)

    return IMG_TAG.sub(replace, clean)


# Headings, code and tables read badly as running text in an excerpt; leave them out.
# The first this many characters of HTML are read for an excerpt, then twice as many, ...
EXCERPT_HTML_PREFIX = 8_192
NOT_IN_EXCERPT = {"h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "figcaption"}


def _prose(body_html: str, length: int) -> str:
    """Return the text of the body's prose, at least `length` characters of it if there are."""
    # Read a growing prefix of the HTML: an excerpt needs the first few hundred characters,
    # and the whole of a long body would cost time for nothing. A prefix cut inside a tag
    # loses at most that tag's text; doubling keeps the total work linear.
    size = EXCERPT_HTML_PREFIX
    while True:
        part = body_html[:size]
        prose = nh3.clean(part, tags=set(), attributes={}, clean_content_tags=NOT_IN_EXCERPT)
        text = re.sub(r"\s+", " ", html.unescape(prose)).strip()
        if len(text) > length or size >= len(body_html):
            return text
        size *= 2


def make_excerpt(body_html: str, length: int = EXCERPT_LENGTH) -> str:
    """Return the first words of a rendered body's prose, cut at a word boundary."""
    text = _prose(body_html, length)
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(",.;:!?-")
    return cut + "…"
