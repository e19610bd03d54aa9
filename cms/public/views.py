"""Views of the public site; only published posts whose time has come are ever shown."""

import re

from flask import abort, current_app, make_response, render_template, request, send_file
from sqlalchemy import or_, select

from cms.extensions import db
from cms.models import File, Post, Tag, User
from cms.public import bp
from cms.services.posts import visible_posts
from cms.services.previews import post_for_token
from cms.services.storage import InvalidName, get_storage

# Page numbers beyond this are not a real archive; refuse them rather than scan.
MAX_PAGE = 100_000
# ASCII digits only: str.isdigit() also accepts "²" and "١", which int() rejects or reads.
NUMBER = re.compile(r"[0-9]{1,9}")


def _page_number() -> int:
    """Return ?page= as a positive integer; 404 for junk so no hostile value reaches SQL."""
    raw = request.args.get("page", "1")
    if not NUMBER.fullmatch(raw):
        abort(404)
    page = int(raw)
    if page < 1 or page > MAX_PAGE:
        abort(404)
    return page


def _paginate(query):
    """Return (posts, page, has_next) for a visible-posts query."""
    page = _page_number()
    per_page = current_app.config["POSTS_PER_PAGE"]
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    if page > 1 and not rows:
        abort(404)
    return rows[:per_page], page, len(rows) > per_page


@bp.get("/")
def index():
    """List published posts, newest first."""
    posts, page, has_next = _paginate(visible_posts())
    return render_template("public/index.html", posts=posts, page=page, has_next=has_next)


@bp.get("/posts/<slug>")
def post(slug: str):
    """Show one published post."""
    item = db.session.scalars(visible_posts().where(Post.slug == slug)).first()
    if item is None:
        abort(404)
    return render_template("public/post.html", post=item)


@bp.get("/preview/<token>")
def preview(token: str):
    """Show any post, published or not, to whoever holds a valid preview link."""
    item = post_for_token(token)
    if item is None:
        abort(404)
    response = make_response(render_template("public/post.html", post=item, preview=True))
    # The link is the key: keep it out of search engines, caches and other sites' logs.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/tags/<slug>")
def tag(slug: str):
    """List the published posts with one tag."""
    item = db.session.scalars(select(Tag).where(Tag.slug == slug)).first()
    if item is None:
        abort(404)
    query = visible_posts().where(Post.tags.any(Tag.id == item.id))
    posts, page, has_next = _paginate(query)
    return render_template("public/tag.html", tag=item, posts=posts, page=page, has_next=has_next)


@bp.get("/authors/<key>")
def author(key: str):
    """List one author's published posts; the author is found by slug or id."""
    condition = User.slug == key
    if NUMBER.fullmatch(key):
        condition = or_(condition, User.id == int(key))
    person = db.session.scalars(select(User).where(condition)).first()
    if person is None:
        abort(404)
    query = visible_posts().where(Post.author_id == person.id)
    posts, page, has_next = _paginate(query)
    # Only people with something published have a public page.
    if not posts:
        abort(404)
    return render_template(
        "public/author.html", author=person, posts=posts, page=page, has_next=has_next
    )


@bp.get("/uploads/<name>")
def upload(name: str):
    """Serve a stored file: images inline, everything else as a download."""
    storage = get_storage()
    try:
        path = storage.path(name)
    except InvalidName:
        abort(404)
    record = db.session.scalars(
        select(File).where(or_(File.stored_name == name, File.thumbnail_name == name))
    ).first()
    if record is None or not path.is_file():
        abort(404)
    is_thumbnail = name == record.thumbnail_name
    mimetype = "image/webp" if is_thumbnail else record.content_type
    inline = is_thumbnail or record.is_image
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=record.original_name if not is_thumbnail else name,
        conditional=True,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not inline:
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
