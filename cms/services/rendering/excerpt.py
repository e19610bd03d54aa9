"""The excerpt made from a rendered body: its first words of running text.

Left out: headings (with their anchor links), code, tables, figures (images with captions,
video placeholders and their play buttons), the table of contents, footnote markers and the
footnotes themselves; list items and cells are separated by spaces rather than glued together.
"""

import html
import re

import nh3

EXCERPT_LENGTH = 240
# The first this many characters of HTML are read for an excerpt, then twice as many, ...
EXCERPT_HTML_PREFIX = 8_192
# Read badly as running text, or are not text of the post at all.
NOT_IN_EXCERPT = {
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "table", "figure", "figcaption", "nav",
    "section",
}  # fmt: skip
FOOTNOTE_MARKER = re.compile(r'<sup class="footnote-ref">.*?</sup>', re.DOTALL)
TOC_PARAGRAPH = re.compile(r"<p(?:\s[^>]*)?>\[TOC\]</p>")
# Headings cannot nest, so they go before the (slower) sanitizer reads the rest.
HEADING = re.compile(r"<h([1-6])[\s>].*?</h\1>", re.DOTALL)
# The ends of blocks whose texts would run together: a space goes after each.
BLOCK_END = re.compile(r"(</(?:p|li|dd|dt|td|th|tr|blockquote|div|figure)>|<br\s*/?>)")


def _prose(body_html: str, length: int) -> str:
    """Return the text of the body's prose, at least `length` characters of it if there are."""
    # Read a growing prefix of the HTML: an excerpt needs the first few hundred characters,
    # and the whole of a long body would cost time for nothing. A prefix cut inside a tag
    # loses at most that tag's text; doubling keeps the total work linear.
    size = EXCERPT_HTML_PREFIX
    while True:
        part = HEADING.sub(" ", body_html[:size])
        part = TOC_PARAGRAPH.sub("", FOOTNOTE_MARKER.sub("", part))
        part = BLOCK_END.sub(r"\1 ", part)
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


def _excerpt_before_pipeline(body_html: str, length: int = EXCERPT_LENGTH) -> str:
    """Return the excerpt the renderer made before it became a pipeline.

    Headings, code blocks, tables and captions were left out, nothing else; used to recognise
    excerpts it generated.
    """
    part = body_html[: max(EXCERPT_HTML_PREFIX, 64 * length)]
    left_out = {"h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "figcaption"}
    prose = nh3.clean(part, tags=set(), attributes={}, clean_content_tags=left_out)
    text = re.sub(r"\s+", " ", html.unescape(prose)).strip()
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:!?-") + "…"


def generated_excerpts(body_html: str) -> set[str]:
    """Return the excerpts the renderer would have made of this stored HTML, now or before.

    An excerpt among them was generated, not written by someone, so re-rendering may replace it.
    """
    return {make_excerpt(body_html), _excerpt_before_pipeline(body_html)}
