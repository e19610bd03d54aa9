"""The search page: /search?q=words&page=N over visible posts and pages."""

from flask import abort, current_app, render_template, request

from cms.public import bp
from cms.services import page_deps
from cms.services.search import parse_query, search

# Page numbers: ASCII digits, at most this many (a deeper page is no page of results).
MAX_PAGE = 10_000


def _page_number() -> int:
    """Return ?page= as a positive integer; 404 for junk, as the other lists do."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5):
        abort(404)
    page = int(raw)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


@bp.get("/search", endpoint="search")
def search_page():
    """Show the form, and the results of a query: ranked, counted, one page at a time."""
    query = parse_query(request.args.get("q", ""))
    page = _page_number()
    # The set of visible posts and pages decides what is found, even when nothing is.
    page_deps.shows("posts", "pages")
    results = search(query, page, current_app.config["POSTS_PER_PAGE"])
    if query and results.count and page > results.pages:
        abort(404)
    page_deps.shows_posts(hit.post for hit in results.hits)
    for hit in results.hits:
        page_deps.changed_at(hit.post.updated_at)
    return render_template("public/search.html", query=query, results=results)
