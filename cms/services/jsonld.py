"""Structured data (schema.org JSON-LD) for the heads of public pages.

Serialized with json.dumps, then `<`, `>` and `&` become \\u003c, \\u003e and \\u0026: no
value (a title like `</script><script>...`) can end the script element early, and the
block still parses back to exactly the text the editor typed.
"""

import json
from datetime import UTC, datetime

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from cms.models import Post, PostKind
from cms.services.seo import Seo, public_url, site_name

CONTEXT = "https://schema.org"
# What the HTML parser must never see inside the block, and the JSON escapes that replace it.
# U+2028/2029 are escaped too: some older JavaScript parsers read them as line ends.
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def dumps(data) -> str:
    """Return JSON that is safe inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in UNSAFE.items():
        text = text.replace(char, escaped)
    return text


def script(data) -> Markup:
    """Return one <script type="application/ld+json"> element holding `data`."""
    # dumps() leaves no <, > or & in the text: nothing in it can end the element.
    return Markup(f'<script type="application/ld+json">{dumps(data)}</script>')  # noqa: S704


def iso(when: datetime) -> str:
    """Return a stored UTC time as ISO 8601 with its zone, to the second."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def home_url() -> str:
    """Return the absolute address of the home page."""
    return url_for("public.index", _external=True)


def author_url(post: Post) -> str:
    """Return the absolute address of the post's author page."""
    person = post.author
    return url_for("public.author", key=person.slug or str(person.id), _external=True)


def breadcrumb_list(items) -> dict:
    """Return a BreadcrumbList of (name, absolute address) pairs, the home page first."""
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": number, "name": name, "item": url}
            for number, (name, url) in enumerate(items, start=1)
        ],
    }


def item_breadcrumbs(post: Post) -> list[tuple[str, str]]:
    """Return the trail of a post (Home > its first tag > the post) or page (Home > page)."""
    trail = [(_("Home"), home_url())]
    if post.kind == PostKind.POST and post.tags:
        tag = post.tags[0]
        trail.append((tag.name, url_for("public.tag", slug=tag.slug, _external=True)))
    trail.append((post.title, public_url(post)))
    return trail


def publisher(logo_url: str = "") -> dict:
    """Return the site as the Organization that publishes its posts."""
    data = {"@type": "Organization", "name": site_name(), "url": home_url()}
    if logo_url:
        data["logo"] = {"@type": "ImageObject", "url": logo_url}
    return data


def item_graph(post: Post, seo: Seo, logo_url: str = "") -> dict:
    """Return the structured data of a post (BlogPosting) or page (WebPage) with its trail."""
    page_url = seo.canonical or public_url(post)
    author = {"@type": "Person", "name": post.author.name}
    if post.is_public:
        author["url"] = author_url(post)
    if post.kind == PostKind.PAGE:
        item = {"@type": "WebPage", "@id": page_url, "url": page_url, "name": seo.title}
    else:
        item = {
            "@type": "BlogPosting",
            "headline": post.title,
            "url": page_url,
            "mainEntityOfPage": {"@type": "WebPage", "@id": page_url},
            "author": author,
            "publisher": publisher(logo_url),
        }
        if post.tags:
            item["keywords"] = [tag.name for tag in post.tags]
    if seo.description:
        item["description"] = seo.description
    if seo.image:
        item["image"] = [seo.image]
    if post.published_at is not None:
        item["datePublished"] = iso(post.published_at)
        item["dateModified"] = iso(max(post.published_at, post.updated_at or post.published_at))
    return {"@context": CONTEXT, "@graph": [item, breadcrumb_list(item_breadcrumbs(post))]}


def breadcrumbs(items) -> dict:
    """Return a standalone BreadcrumbList document for a list page."""
    return {"@context": CONTEXT, **breadcrumb_list(items)}


def website(search_url: str = "") -> dict:
    """Return the WebSite, with a SearchAction when the site has a search page."""
    data = {"@context": CONTEXT, "@type": "WebSite", "name": site_name(), "url": home_url()}
    if search_url:
        data["potentialAction"] = {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": f"{search_url}?q={{search_term_string}}",
            },
            "query-input": "required name=search_term_string",
        }
    return data
