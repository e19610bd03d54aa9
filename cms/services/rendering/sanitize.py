"""The allow-lists (nh3): the writer's HTML first, then everything once more as the last step.

Two passes. `sanitize_author` runs right after parsing, on what the writer typed and cmark made
of it; `sanitize_final` runs after every other stage, with the same list plus what the stages
add (RENDERER_ALLOWED), which a writer therefore can never type. Every allowed attribute has a
filter that returns the value to keep or None to drop it.

Ids live under our prefix: the author pass turns every id into `c-<id>` and every in-page link
`#x` into `#c-x`, so a body can never produce an id of the page around it (DOM clobbering:
`<a id="cms-post-form">`, `name=` is never allowed), and its own links still meet.
"""

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote

import nh3
from pygments.token import STANDARD_TYPES

Filter = Callable[[str], str | None]

# Every id in a rendered body starts with this; no id of the site's own pages does.
ID_PREFIX = "c-"
MAX_ID_LENGTH = 120
# An id as the author pass writes it: our prefix, then word characters (any script) and dashes.
SCOPED_ID = re.compile(rf"{ID_PREFIX}[\w-]{{1,{MAX_ID_LENGTH}}}")
# Everything else (javascript:, data:, vbscript:) is dropped; relative links are kept.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Set on every link (a writer's own rel is dropped).
LINK_REL = "noopener noreferrer"
# Dropped together with everything inside them.
CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "math"}
# A stored library file or rendition, the only addresses a srcset may name.
OWN_MEDIA_URL = re.compile(r"^/(?:media|uploads)/[a-z0-9][a-z0-9_-]*\.[a-z0-9]{1,8}$")
# A fenced code block's language as cmark writes it (`language-<first word of the info>`).
CODE_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
# The CSS classes Pygments gives its tokens (see highlight.py), and nothing else.
PYGMENTS_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)


def _scope(value: str) -> str | None:
    """Return an id under our prefix: anything but word characters and dashes becomes `-`."""
    name = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFC", value)).strip("-")
    return f"{ID_PREFIX}{name}"[: len(ID_PREFIX) + MAX_ID_LENGTH] if name else None


def scope_id(value: str) -> str | None:
    """Filter for the author pass: put every id under our prefix."""
    return _scope(value)


def scope_href(value: str) -> str | None:
    """Filter for the author pass: point in-page links at the prefixed ids."""
    if not value.startswith("#") or value == "#":
        return value
    scoped = _scope(unquote(value[1:]))
    return f"#{scoped}" if scoped else None


def any_text(value: str) -> str:
    """Filter: keep any value (for text read out or shown, such as alt and aria-label)."""
    return value


def one_of(allowed: set[str] | frozenset[str]) -> Filter:
    """Return a filter keeping only the listed values (every class, if a list of classes)."""

    def keep(value: str) -> str | None:
        return value if value in allowed else None

    return keep


def matching(pattern: re.Pattern) -> Filter:
    """Return a filter keeping only values the whole of which `pattern` matches."""

    def keep(value: str) -> str | None:
        return value if pattern.fullmatch(value) else None

    return keep


def own_id(value: str) -> str | None:
    """Filter for the final pass: only ids already under our prefix."""
    return value if SCOPED_ID.fullmatch(value) else None


def own_href(value: str) -> str | None:
    """Filter for the final pass: in-page links only to ids under our prefix."""
    if value.startswith("#") and value != "#" and not SCOPED_ID.fullmatch(value[1:]):
        return None
    return value


def own_srcset(value: str) -> str | None:
    """Filter: a srcset only when every candidate is one of our own stored files."""
    for candidate in value.split(","):
        parts = candidate.split()
        if not parts or not OWN_MEDIA_URL.match(parts[0]) or len(parts) > 2:
            return None
    return value


def empty(_value: str) -> str:
    """Filter for boolean attributes (checked, disabled): present, with no value."""
    return ""


ALIGN = one_of({"left", "center", "right"})
DIR = one_of({"auto", "ltr", "rtl"})
PLAIN = {"id": scope_id, "dir": DIR}
# What a writer may type as raw HTML, and what cmark writes.
# Tags without attributes, and the blocks of running text (an id and a direction).
BARE_TAGS = (
    "abbr", "b", "br", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "hr", "i",
    "ins", "kbd", "mark", "pre", "s", "small", "span", "strong", "sub", "table", "tbody",
    "tfoot", "thead", "tr",
)  # fmt: skip
TEXT_TAGS = ("blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "li", "p", "ul")
AUTHOR_ALLOWED: dict[str, dict[str, Filter]] = {
    **{tag: {} for tag in BARE_TAGS},
    **{tag: dict(PLAIN) for tag in TEXT_TAGS},
    "a": {
        "href": scope_href,
        "title": any_text,
        "id": scope_id,
        "class": one_of({"footnote-backref"}),
    },
    "abbr": {"title": any_text},
    "img": {
        "src": any_text,
        "alt": any_text,
        "title": any_text,
        "width": any_text,
        "height": any_text,
        "loading": one_of({"lazy", "eager"}),
    },  # fmt: skip
    "code": {"class": matching(CODE_LANGUAGE)},
    "ol": {"start": matching(re.compile(r"-?\d{1,9}")), "id": scope_id, "dir": DIR},
    "td": {"align": ALIGN, "dir": DIR},
    "th": {"align": ALIGN, "dir": DIR},
    # Task list items: always a disabled checkbox (set below), ticked or not; nothing else.
    "input": {"type": one_of({"checkbox"}), "disabled": empty, "checked": empty},
    # cmark's footnotes: markers in <sup class="footnote-ref">, the notes in a <section>.
    "sup": {"class": one_of({"footnote-ref"})},
    "section": {"class": one_of({"footnotes"}), "id": scope_id},
}
# Whatever the writer typed, an <input> comes out as exactly this.
FORCED_VALUES = {"input": {"type": "checkbox", "disabled": ""}}

# Added by the stages only (the final pass); see /work/notes/pipeline.md for how to add more.
RENDERER_ALLOWED: dict[str, dict[str, Filter]] = {
    # Heading anchors and the table of contents (headings.py).
    # ... and video placeholders (embeds.py), images from other hosts as links (offsite.py).
    "a": {
        "class": one_of({"c-anchor", "footnote-backref", "c-embed-link", "c-offsite-image"}),
        "aria-label": any_text,
    },
    "nav": {"class": one_of({"c-toc"}), "aria-label": any_text},
    "li": {"class": one_of({"c-task"})},
    "input": {"aria-label": any_text},
    "section": {"aria-label": any_text},
    # Highlighted code (highlight.py).
    "pre": {"class": one_of({"highlight"})},
    "span": {"class": one_of(PYGMENTS_CLASSES | {"c-embed-play"})},
    # Video placeholders (embeds.py): the script builds the player's address from these
    # validated values only (cms/static/embed.js checks them again).
    "figure": {
        "class": one_of({"c-embed"}),
        "data-provider": one_of({"youtube", "vimeo"}),
        "data-video": matching(re.compile(r"[A-Za-z0-9_-]{11}|[0-9]{1,12}")),
        "data-start": matching(re.compile(r"[0-9]{1,5}")),
    },
    "figcaption": {"class": one_of({"c-embed-title"}), "dir": one_of({"auto"})},
    # Library images (images.py).
    "picture": {},
    "source": {
        "srcset": own_srcset,
        "sizes": any_text,
        "type": one_of({"image/webp"}),
        "width": any_text,
        "height": any_text,
    },  # fmt: skip
    "img": {"srcset": own_srcset, "sizes": any_text, "decoding": one_of({"async"})},
}
# The final pass checks ids and in-page links instead of prefixing them again.
FINAL_OVERRIDES = {"id": own_id, "href": own_href}


def _merge(*lists: dict[str, dict[str, Filter]]) -> dict[str, dict[str, Filter]]:
    """Return the union of allow-lists (a later list's filter wins for the same attribute)."""
    merged: dict[str, dict[str, Filter]] = {}
    for allowed in lists:
        for tag, attributes in allowed.items():
            merged.setdefault(tag, {}).update(attributes)
    return merged


def _clean(raw: str, allowed: dict[str, dict[str, Filter]]) -> str:
    """Return `raw` reduced to the tags and filtered attributes of `allowed`."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute, value) == ("a", "rel", LINK_REL):
            return value  # nh3's own, on every link; passed through this filter too
        check = allowed.get(tag, {}).get(attribute)
        return None if check is None else check(value)

    return nh3.clean(
        raw,
        tags=set(allowed),
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes={tag: set(attributes) for tag, attributes in allowed.items()},
        attribute_filter=keep,
        set_tag_attribute_values=FORCED_VALUES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitize_author(raw: str) -> str:
    """Return the writer's (and cmark's) HTML reduced to the author allow-list, ids prefixed."""
    return _clean(raw, AUTHOR_ALLOWED)


def final_allowed() -> dict[str, dict[str, Filter]]:
    """Return the allow-list of the last pass: the author's, the stages', ids checked."""
    merged = _merge(AUTHOR_ALLOWED, RENDERER_ALLOWED)
    for attributes in merged.values():
        for name, check in FINAL_OVERRIDES.items():
            if name in attributes:
                attributes[name] = check
    return merged


def sanitize_final(html: str) -> str:
    """Return HTML reduced to everything the pipeline may write: always the very last step."""
    return _clean(html, final_allowed())


def sanitize_html(raw: str) -> str:
    """Return any HTML made safe for a page (the author pass, then the final check)."""
    return sanitize_final(sanitize_author(raw))
