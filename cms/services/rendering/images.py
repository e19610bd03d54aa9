"""Library images made responsive: a <picture> with WebP, srcset/sizes, width, height, alt.

Images from the file library (`/uploads/<stored name>`) get a <picture> with a WebP <source>,
`srcset`/`sizes` pointing at the renditions (served from `/media/`, made on their first
request), the image's width and height, lazy loading, and the library's alt text when the
Markdown gave none. What the library knows comes from `context.library` (library.Library).
"""

import html
import re

from cms.services.rendering.library import LibraryImage
from cms.services.rendering.sanitize import OWN_MEDIA_URL

# Where a library image's address starts; only these images get renditions.
UPLOADS_PREFIX = "/uploads/"
# The post column of the public site (site.css: --measure 44rem, less 1rem padding each side).
NARROW_SCREEN = "44rem"
COLUMN_WIDTH = "40rem"
COLUMN_PIXELS = 640
# One <img> as html5ever (nh3) writes it: every attribute as name="value".
IMG_TAG = re.compile(r'<img((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*/?>')
ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?')


def attributes_of(text: str) -> dict[str, str]:
    """Return the attributes of a serialized tag, unescaped."""
    return {name.lower(): html.unescape(value or "") for name, value in ATTRIBUTE.findall(text)}


def start_tag(name: str, attributes: dict[str, str]) -> str:
    """Return a start tag with escaped attribute values."""
    parts = "".join(
        f' {key}="{html.escape(value, quote=True)}"' for key, value in attributes.items()
    )
    return f"<{name}{parts}>"


def library_name(attributes: dict[str, str]) -> str | None:
    """Return the stored name an <img> shows, if it points at the file library."""
    src = attributes.get("src", "")
    if not src.startswith(UPLOADS_PREFIX) or not OWN_MEDIA_URL.match(src):
        return None
    return src[len(UPLOADS_PREFIX) :]


def sizes_for(width: int) -> str:
    """Return `sizes` for an image of this width shown in the post column."""
    if width < COLUMN_PIXELS:
        return f"(max-width: {NARROW_SCREEN}) calc(100vw - 2rem), {width}px"
    return f"(max-width: {NARROW_SCREEN}) calc(100vw - 2rem), {COLUMN_WIDTH}"


def _candidates(pairs) -> str:
    """Return srcset text for (url, width) pairs."""
    return ", ".join(f"{url} {width}w" for url, width in pairs)


def responsive(attributes: dict[str, str], record: LibraryImage) -> str:
    """Return the markup of one library image: <picture> with WebP, or an <img srcset>."""
    img = {key: attributes[key] for key in ("src", "alt", "title") if key in attributes}
    if not img.get("alt", "").strip():
        img["alt"] = record.alt if record.alt is not None else img.get("alt", "")
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
    if record.srcset:
        img["srcset"] = _candidates(record.srcset)
        img["sizes"] = sizes
    img["loading"] = "lazy"
    img["decoding"] = "async"
    tag = start_tag("img", img)
    if not record.webp:
        return tag
    source = {"type": "image/webp", "srcset": _candidates(record.webp), "sizes": sizes}
    return f"<picture>{start_tag('source', source)}{tag}</picture>"


def responsive_images(clean: str, context) -> str:
    """Stage: make the library images of sanitized HTML responsive (see the module doc)."""
    if context.library is None or "<img" not in clean:
        return clean
    found = [attributes_of(match.group(1)) for match in IMG_TAG.finditer(clean)]
    names = {name for attrs in found if (name := library_name(attrs))}
    if not names:
        return clean
    records = context.library.images(names)
    if not records:
        return clean

    def replace(match: re.Match) -> str:
        attributes = attributes_of(match.group(1))
        record = records.get(library_name(attributes) or "")
        return match.group(0) if record is None else responsive(attributes, record)

    return IMG_TAG.sub(replace, clean)
