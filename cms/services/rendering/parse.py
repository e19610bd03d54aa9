"""Markdown to (unsanitized) HTML in time linear in the size of the text, whatever its characters.

The parser is cmark-gfm, GitHub's C implementation of CommonMark with its extensions (through
the cmarkgfm bindings): tables with alignment, strikethrough, autolinks, task lists and
footnotes, plus fenced code and raw HTML. cmark's algorithms are linear by design and fuzzed
for pathological input; Python-Markdown needed minutes for 50 KB of `[`, and a pure-Python
CommonMark parser still spent seconds on 100 KB of markup characters, where cmark spends
milliseconds.

The output is NOT safe: the pipeline sanitizes it (sanitize.py) before anything else reads it.
"""

import re

import cmarkgfm
from cmarkgfm.cmark import Options

# GitHub's extensions; "tagfilter" is left out because the allow-list sanitizer does its job.
EXTENSIONS = ("table", "strikethrough", "autolink", "tasklist")
# UNSAFE keeps the writer's raw HTML and every link address: the sanitizer decides what stays.
# FOOTNOTES turns `[^1]` and `[^1]: note` into linked notes.
OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
# Quotes and bullet lists nested deeper than this on one line stay text: a line of 100,000 `>`
# would otherwise become 100,000 nested <blockquote> elements (megabytes of HTML for the
# sanitizer to walk). The marker past the limit is escaped with a backslash.
MAX_CONTAINER_DEPTH = 32
DEEP_CONTAINERS = re.compile(
    rf"(?m)^((?:[ \t]*(?:>|[-+*](?=[ \t]))){{{MAX_CONTAINER_DEPTH}}}[ \t]*)(?=[->+*])"
)


def limit_container_depth(source: str) -> str:
    """Return `source` with the quote and bullet markers past MAX_CONTAINER_DEPTH escaped."""
    return DEEP_CONTAINERS.sub(r"\1\\", source)


def markdown_to_html(source: str) -> str:
    """Return the HTML of Markdown `source`, not yet sanitized, without a final line break."""
    html = cmarkgfm.markdown_to_html_with_extensions(
        limit_container_depth(source or ""), options=OPTIONS, extensions=EXTENSIONS
    )
    return html.rstrip("\n")
