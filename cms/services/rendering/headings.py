"""Heading ids with anchor links, and the table of contents a `[TOC]` paragraph asks for.

Ids are made from the heading's words as GitHub makes them (letters of every script kept, so
"Über uns" is `c-über-uns` and "日本語" `c-日本語`), under the prefix every id of a body has,
and made unique against every id already in the body (footnotes, the writer's own, earlier
headings).
"""

import html
import re
import unicodedata

from cms.services.rendering.sanitize import ID_PREFIX, MAX_ID_LENGTH

# A heading as the author pass writes it: its attributes hold no ">" (only id and dir).
HEADING = re.compile(r"<h([1-6])((?:\s[^>]*)?)>(.*?)</h\1>", re.DOTALL)
ID_ATTRIBUTE = re.compile(r'\sid="([^"]*)"')
TAG = re.compile(r"<[^>]*>")
FOOTNOTE_MARKER = re.compile(r'<sup class="footnote-ref">.*?</sup>', re.DOTALL)
TOC_PARAGRAPH = re.compile(r"<p>\[TOC\]</p>")
# Headings past this many get no id or anchor: no real post has so many, and 100 KB of
# one-letter headings would otherwise become megabytes of anchors.
MAX_ANCHORED_HEADINGS = 500


def heading_text(inner: str) -> str:
    """Return a heading's words without markup or footnote markers."""
    return " ".join(html.unescape(TAG.sub("", FOOTNOTE_MARKER.sub("", inner))).split())


def slug(text: str) -> str:
    """Return readable id words for a heading, made as GitHub makes them.

    Lower case, letters of any script kept, punctuation dropped, spaces as dashes: a writer's
    `[x](#über-uns)` finds "Über uns". Room is left for the suffix that makes it unique.
    """
    words = re.sub(r"[^\w\s-]", "", unicodedata.normalize("NFC", text.lower()))
    return re.sub(r"\s+", "-", words.strip())[: MAX_ID_LENGTH - 12].strip("-") or "section"


def unique(base: str, taken: set[str], counters: dict[str, int]) -> str:
    """Return `base`, or `base-1`, `base-2`, ... whichever is not taken yet; take it.

    `counters` remembers where each base got to, so a thousand equal headings cost a thousand
    steps, not half a million.
    """
    number = counters.get(base, 0)
    candidate = base if number == 0 else f"{base}-{number}"
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    counters[base] = number + 1
    taken.add(candidate)
    return candidate


def add_heading_ids(clean: str, context) -> str:
    """Stage: give every heading an id and an anchor link; note them for the contents."""
    if "<h" not in clean:
        return clean
    taken = set(ID_ATTRIBUTE.findall(clean))
    counters: dict[str, int] = {}

    def visit(match: re.Match) -> str:
        if len(context.headings) >= MAX_ANCHORED_HEADINGS:
            return match.group(0)
        level, attributes, inner = match.groups()
        text = heading_text(inner)
        given = ID_ATTRIBUTE.search(attributes)
        if given:
            ident = given.group(1)
        else:
            ident = unique(ID_PREFIX + slug(text), taken, counters)
            attributes = f' id="{ident}"{attributes}'
        context.headings.append((int(level), ident, text))
        label = html.escape(context.labels.anchor, quote=True)
        anchor = f'<a class="c-anchor" href="#{ident}" aria-label="{label}">#</a>'
        return f"<h{level}{attributes}>{inner} {anchor}</h{level}>"

    return HEADING.sub(visit, clean)


def contents_list(headings: list[tuple[int, str, str]]) -> str:
    """Return nested lists of links to the headings, nested by their levels."""
    out: list[str] = []
    levels: list[int] = []
    for level, ident, text in headings:
        if levels and level <= levels[-1]:
            while len(levels) > 1 and level < levels[-1]:
                out.append("</li></ul>")
                levels.pop()
            if level > levels[-1]:
                out.append("<ul>")
                levels.append(level)
            else:
                out.append("</li>")
        else:
            out.append("<ul>")
            levels.append(level)
        out.append(f'<li><a href="#{html.escape(ident, quote=True)}">{html.escape(text)}</a>')
    out.extend("</li></ul>" for _level in levels)
    return "".join(out)


def table_of_contents(clean: str, context) -> str:
    """Stage: replace each paragraph that is exactly `[TOC]` with the contents (or nothing)."""
    if "[TOC]" not in clean:
        return clean
    nav = ""
    if context.headings:
        label = html.escape(context.labels.contents, quote=True)
        nav = f'<nav class="c-toc" aria-label="{label}">{contents_list(context.headings)}</nav>'
    return TOC_PARAGRAPH.sub(lambda _match: nav, clean)
