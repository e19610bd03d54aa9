"""What search engines and link previews see of a post or page: title, description, URLs.

The values are plain text; the templates escape them like every other value.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, url_for

from cms.models import Post, PostKind


@dataclass(frozen=True)
class Seo:
    """The head tags of one public page."""

    title: str
    description: str = ""
    # Absolute; empty on previews, which must not name an address for search engines.
    canonical: str = ""
    og_type: str = "website"
    image: str = ""

    @property
    def twitter_card(self) -> str:
        """Return the Twitter card kind: a large image when there is one."""
        return "summary_large_image" if self.image else "summary"


def site_name() -> str:
    """Return the site's name (SITE_NAME)."""
    return current_app.config.get("SITE_NAME", "")


def site_description() -> str:
    """Return the site's one-line description (SITE_DESCRIPTION); empty when unset."""
    return (current_app.config.get("SITE_DESCRIPTION") or "").strip()


def is_web_address(value: str) -> bool:
    """Return whether a value is a full http(s) address (the only kind a head tag may carry)."""
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def public_url(post: Post) -> str:
    """Return the absolute address readers use for a post or page."""
    endpoint = "public.page" if post.kind == PostKind.PAGE else "public.post"
    return url_for(endpoint, slug=post.slug, _external=True)


def social_image_url(post: Post) -> str:
    """Return the absolute address of the post's social image; empty unless it is an image."""
    image = post.social_image
    if image is None or not image.is_image:
        return ""
    return url_for("public.upload", name=image.stored_name, _external=True)


def seo_for(post: Post, preview: bool = False) -> Seo:
    """Return the head tags of a post or page (previews get no canonical address)."""
    canonical = ""
    if not preview:
        given = (post.canonical_url or "").strip()
        canonical = given if is_web_address(given) else public_url(post)
    return Seo(
        title=(post.meta_title or "").strip() or post.title,
        description=(post.meta_description or "").strip() or (post.excerpt or "").strip(),
        canonical=canonical,
        og_type="website" if post.kind == PostKind.PAGE else "article",
        image=social_image_url(post),
    )
