"""Markdown to safe HTML, done once when content is saved."""

import html
import re

import markdown
import nh3

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
    "td": {"align"},
    "th": {"align"},
}
# Everything else (javascript:, data:, vbscript:) is dropped; relative links are kept.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]
EXCERPT_LENGTH = 240


def render_markdown(source: str) -> str:
    """Return sanitized HTML for Markdown source; sanitizing is the last step."""
    raw = markdown.markdown(source or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return sanitize_html(raw)


def sanitize_html(raw: str) -> str:
    """Return `raw` with everything outside the allow-list removed."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "svg", "math"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# Headings, code and tables read badly as running text in an excerpt; leave them out.
NOT_IN_EXCERPT = {"h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "figcaption"}


def make_excerpt(body_html: str, length: int = EXCERPT_LENGTH) -> str:
    """Return the first words of a rendered body's prose, cut at a word boundary."""
    prose = nh3.clean(body_html, tags=set(), attributes={}, clean_content_tags=NOT_IN_EXCERPT)
    text = re.sub(r"\s+", " ", html.unescape(prose)).strip()
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(",.;:!?-")
    return cut + "…"
