"""Small finishing touches to GitHub's extensions: task items, footnote labels, `dir="auto"`.

Task list items get a class (so the page can drop their bullet) and their checkbox a label a
screen reader can say; footnote back links say where they go in the site's language; every
block of running text gets `dir="auto"`, so a right-to-left paragraph reads right to left.
"""

import html
import re

TASK_ITEM = re.compile(r"<li>(?=\s*(?:<p>)?\s*<input\b)")
CHECKBOX = re.compile(r"<input\b([^>]*)>")
BACK_LINK = re.compile(r'<a href="#(c-fnref-[\w-]+)" class="footnote-backref"')
FOOTNOTES = re.compile(r'<section class="footnotes">')
# The start tags of running text: paragraphs, headings, list items, quotes and table cells.
TEXT_BLOCK = re.compile(r"<(p|h[1-6]|li|blockquote|td|th)(?=[\s>])([^>]*)>")


def _label(text: str) -> str:
    """Return an aria-label attribute with the text escaped."""
    return f' aria-label="{html.escape(text, quote=True)}"'


def tasks_and_footnotes(clean: str, context) -> str:
    """Stage: mark task items, label their checkboxes and the footnotes' back links."""
    labels = context.labels
    if "<input" in clean:
        clean = TASK_ITEM.sub('<li class="c-task">', clean)

        def checkbox(match: re.Match) -> str:
            ticked = "checked" in match.group(1)
            text = labels.task_done if ticked else labels.task_open
            return f"<input{match.group(1)}{_label(text)}>"

        clean = CHECKBOX.sub(checkbox, clean)
    if "footnote-backref" in clean:

        def back_link(match: re.Match) -> str:
            number = match.group(1).removeprefix("c-fnref-")
            text = labels.back_to_reference % {"number": number}
            return f'<a href="#{match.group(1)}" class="footnote-backref"{_label(text)}'

        clean = BACK_LINK.sub(back_link, clean)
        clean = FOOTNOTES.sub(f'<section class="footnotes"{_label(labels.footnotes)}>', clean)
    return clean


def add_dir_auto(clean: str, _context) -> str:
    """Stage: let the browser find each text block's direction (unless the writer gave one)."""

    def visit(match: re.Match) -> str:
        tag, attributes = match.groups()
        if " dir=" in attributes:
            return match.group(0)
        return f'<{tag}{attributes} dir="auto">'

    return TEXT_BLOCK.sub(visit, clean)
