"""Size limits that keep rendering fast whatever a body holds.

Parsing is linear in the size of the body; bodies are capped at MAX_BODY_CHARS where they come
in (forms, preview), and tags nested deeper than MAX_HTML_DEPTH are shown as text before the
sanitizer, whose parser slows down with the square of the nesting.
"""

import re

from flask import current_app, has_app_context

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


def max_body_chars() -> int:
    """Return the longest Markdown body accepted, in characters (setting MAX_BODY_CHARS)."""
    if has_app_context():
        return int(current_app.config.get("MAX_BODY_CHARS", DEFAULT_MAX_BODY_CHARS))
    return DEFAULT_MAX_BODY_CHARS


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
