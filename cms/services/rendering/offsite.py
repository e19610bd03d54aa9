"""Images from other hosts become links, so a public page loads nothing from elsewhere.

Saving a post imports its external images into the file library (services.external_images);
what is left (a fetch failed or was refused, or the preview of unsaved text) is shown as a
link to the image, with its alt text. With the setting EXTERNAL_IMAGES = "allow" images over
https stay images (the public CSP then allows https images); anything else still becomes a link.
"""

import html
import re

from flask import current_app, has_app_context

from cms.services.rendering.images import IMG_TAG, attributes_of, start_tag

# Start and end tags of links, and images: walked in order to know when an image is in a link.
TAGS = re.compile(r"<a\b[^>]*>|</a>|" + IMG_TAG.pattern)


# What a browser removes from an address before reading it (WHATWG URL parsing): C0 controls
# and spaces at either end, and tabs and line breaks anywhere.
EDGE_JUNK = "".join(chr(code) for code in range(0x21))
TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def browser_form(src: str) -> str:
    """Return an address as a browser reads it on an http(s) page (`\\` counts as `/`)."""
    return TAB_OR_NEWLINE.sub("", src.strip(EDGE_JUNK)).replace("\\", "/")


def is_offsite(src: str) -> bool:
    """Return whether an image address leads to another host (absolute or scheme-relative).

    Judged on what the browser will request: `/\\evil.example/x.png` and `/<tab>/evil.example`
    are scheme-relative addresses of another host for a browser, although they start with `/`.
    """
    src = browser_form(src)
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src)) or src.startswith("//")


def _allowed_offsite(src: str) -> bool:
    """Return whether the settings let readers' browsers load this image from its host."""
    if not has_app_context() or current_app.config.get("EXTERNAL_IMAGES") != "allow":
        return False
    return browser_form(src).lower().startswith("https://")


def offsite_images_to_links(body: str, context) -> str:
    """Stage: replace every off-site <img> by a link to it (inside a link: by its alt text)."""
    if "<img" not in body:
        return body
    depth = 0

    def visit(match: re.Match) -> str:
        nonlocal depth
        tag = match.group(0)
        if tag.startswith("</a"):
            depth = max(depth - 1, 0)
            return tag
        if not tag.startswith("<img"):
            depth += 1
            return tag
        attributes = attributes_of(match.group(1) or "")
        src = attributes.get("src", "")
        if not is_offsite(src) or _allowed_offsite(src):
            return tag
        text = html.escape((attributes.get("alt") or "").strip() or src)
        if depth:
            # A link may not hold another: the image's words stand in the outer link.
            return text
        return f"{start_tag('a', {'class': 'c-offsite-image', 'href': src})}{text}</a>"

    return TAGS.sub(visit, body)
