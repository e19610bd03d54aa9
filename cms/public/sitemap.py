"""What crawlers read first: /robots.txt, the sitemap index and its shards."""

from flask import Response, abort, current_app, url_for

from cms.public import bp
from cms.public.feeds import xml_response
from cms.services import page_deps, sitemap
from cms.web import NO_STORE_PREFIXES

SITEMAP_MIMETYPE = "application/xml"


@bp.get("/sitemap.xml")
def sitemap_index():
    """The sitemap index: one entry per shard that has something to list."""
    entries = sitemap.index_entries()
    page_deps.shows("posts", "pages", "tags", "edits", "site")
    newest = max((entry.lastmod for entry in entries if entry.lastmod), default=None)
    return xml_response(sitemap.render_index(entries), SITEMAP_MIMETYPE, newest)


@bp.get(
    f"/sitemap-<any({', '.join(sitemap.SECTIONS)}):section>-<int(min=1, max={10**9}):number>.xml"
)
def sitemap_shard(section: str, number: int):
    """One shard of the sitemap: posts, pages, tags or authors by a range of ids."""
    entries = sitemap.shard_entries(section, number)
    if not entries:
        abort(404)
    # "edits" follows every change to any post or page (their lastmod dates), so a shard of
    # 50,000 addresses is checked with a few names instead of 50,000.
    page_deps.shows("posts", "pages", "tags", "edits", "site")
    page_deps.shows(*(entry.dep for entry in entries if entry.dep.startswith("author:")))
    newest = max((entry.lastmod for entry in entries if entry.lastmod), default=None)
    return xml_response(sitemap.render_urlset(entries), SITEMAP_MIMETYPE, newest)


def robots_lines() -> list[str]:
    """Return the lines of robots.txt: the dashboard and accounts closed, the sitemap named."""
    lines = ["User-agent: *"]
    if current_app.config.get("ROBOTS_DISALLOW_ALL"):
        # A staging site: nothing of it belongs in a search engine.
        lines.append("Disallow: /")
    else:
        default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
        prefixes = [""] + [
            f"/{code}" for code in current_app.config.get("LANGUAGES", ()) if code != default
        ]
        for prefix in prefixes:
            for path in NO_STORE_PREFIXES:
                lines.append(f"Disallow: {prefix}{path}")
        # Preview links are keys; their pages also say noindex.
        placeholder = "x"
        lines.append(f"Disallow: {url_for('public.preview', token=placeholder)[:-1]}")
    lines.append("")
    lines.append(f"Sitemap: {url_for('public.sitemap_index', _external=True)}")
    return lines


@bp.get("/robots.txt")
def robots():
    """Tell crawlers what to leave alone and where the sitemap is."""
    page_deps.shows("site")
    body = "\n".join(robots_lines()) + "\n"
    return Response(body, content_type="text/plain; charset=utf-8")
