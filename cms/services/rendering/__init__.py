"""Markdown to safe HTML: a small pipeline run once when content is saved.

The public API; the stages live in the modules beside this one (pipeline.py gives their
order). Nothing in this package looks anything up: callers pass a `library`
(library.Library; cms.services.media_library.MediaLibrary for the file library).
"""

from cms.services.rendering.excerpt import EXCERPT_LENGTH, make_excerpt
from cms.services.rendering.library import Library, LibraryImage
from cms.services.rendering.limits import limit_nesting, max_body_chars
from cms.services.rendering.parse import MAX_CONTAINER_DEPTH, markdown_to_html
from cms.services.rendering.pipeline import RenderContext, render_markdown
from cms.services.rendering.sanitize import sanitize_html

__all__ = [
    "EXCERPT_LENGTH",
    "MAX_CONTAINER_DEPTH",
    "Library",
    "LibraryImage",
    "RenderContext",
    "limit_nesting",
    "make_excerpt",
    "markdown_to_html",
    "max_body_chars",
    "render_markdown",
    "sanitize_html",
]
