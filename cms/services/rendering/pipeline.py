"""The order of the rendering stages, and what they share while one body is rendered.

parse (cmark-gfm) -> the author allow-list (ids prefixed) -> the stages in STAGES, each
`stage(html, context) -> html` on sanitized HTML -> the final allow-list, always last.
See /work/notes/pipeline.md for how a stage is added.
"""

from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from cms.services.rendering import embeds, extensions, headings, highlight, images, offsite
from cms.services.rendering.library import Library
from cms.services.rendering.limits import limit_nesting
from cms.services.rendering.parse import markdown_to_html
from cms.services.rendering.sanitize import sanitize_author, sanitize_final


@dataclass(frozen=True)
class Labels:
    """Words the renderer writes into a body (for screen readers), in the site's language."""

    anchor: str = "Link to this section"
    contents: str = "Contents"
    footnotes: str = "Footnotes"
    # %(number)s is the footnote reference's number, as in "1" or "1-2".
    back_to_reference: str = "Back to reference %(number)s"
    task_done: str = "Done"
    task_open: str = "Not done"


def site_labels() -> Labels:
    """Return the labels in the site's default language (stored HTML serves every reader)."""
    if not has_app_context():
        return Labels()
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        return Labels(
            anchor=_("Link to this section"),
            contents=_("Contents"),
            footnotes=_("Footnotes"),
            back_to_reference=_("Back to reference %(number)s"),
            task_done=_("Done"),
            task_open=_("Not done"),
        )


@dataclass
class RenderContext:
    """What the stages of one rendering share: the library to ask, labels, headings found."""

    library: Library | None = None
    labels: Labels = field(default_factory=site_labels)
    # (level, id, text) of every heading, in order; filled by headings.add_heading_ids.
    headings: list[tuple[int, str, str]] = field(default_factory=list)


# Each stage takes HTML that passed the author allow-list and returns HTML; order matters.
STAGES = [
    extensions.tasks_and_footnotes,
    headings.add_heading_ids,
    headings.table_of_contents,
    extensions.add_dir_auto,
    highlight.highlight_code,
    embeds.embed_videos,
    images.responsive_images,
    offsite.offsite_images_to_links,
]


def render_markdown(source: str, library: Library | None = None) -> str:
    """Return sanitized HTML for Markdown source; sanitizing is the last step.

    `library` answers which images are in the file library (library.Library); without it,
    images are left as written.
    """
    html = sanitize_author(limit_nesting(markdown_to_html(source or "")))
    context = RenderContext(library=library)
    for stage in STAGES:
        html = stage(html, context)
    return sanitize_final(html)
