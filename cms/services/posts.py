"""Posts: what readers may see, and what happens when a post is saved."""

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, utcnow
from cms.services.media_library import MediaLibrary
from cms.services.rendering import make_excerpt, render_markdown
from cms.services.slugs import make_slug, unique_slug
from cms.services.visibility import is_visible

__all__ = ["finish_for_save", "is_visible", "prepare_for_save", "render_for_save", "visible_posts"]


def visible_posts() -> Select:
    """Return a query of public posts, newest first, with authors and tags loaded."""
    return (
        select(Post)
        .where(is_visible(PostKind.POST))
        .options(selectinload(Post.author), selectinload(Post.tags))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )


def render_for_save(post: Post, *, excerpt_given: bool | None = None) -> Post:
    """Render the body and fill the excerpt: the slow part of a save, done before any write.

    Reads only (the file library, for images), so on SQLite it runs without the write lock;
    no autoflush either, which would write the post's pending changes first.
    """
    post.title = (post.title or "").strip()
    with db.session.no_autoflush:
        post.body_html = render_markdown(post.body_md or "", library=MediaLibrary())
    if excerpt_given is None:
        excerpt_given = bool((post.excerpt or "").strip())
    if not excerpt_given:
        post.excerpt = make_excerpt(post.body_html)
    return post


def finish_for_save(post: Post) -> Post:
    """Make the slug unique and stamp the publication time: quick, just before writing."""
    post.slug = unique_slug(Post, make_slug(post.slug or post.title, "post"), post.id, "post")
    if post.status == PostStatus.PUBLISHED and post.published_at is None:
        post.published_at = utcnow()
    return post


def prepare_for_save(post: Post, *, excerpt_given: bool | None = None) -> Post:
    """Render the body, fill the excerpt and slug, and stamp the publication time."""
    render_for_save(post, excerpt_given=excerpt_given)
    return finish_for_save(post)
