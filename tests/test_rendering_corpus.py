"""One post using every Markdown feature writers use renders right (issue 11, the renderer).

Links resolve to ids on the page (footnotes both ways, the table of contents, anchors), code is
highlighted, tables keep their alignment, every id is under our prefix, right-to-left text gets
`dir="auto"`, and the excerpt holds prose only.
"""

from html.parser import HTMLParser
from pathlib import Path

from cms.services.rendering import make_excerpt, render_markdown
from cms.services.rendering.highlight import CONTENT_CSS, stylesheet
from cms.services.rendering.sanitize import PYGMENTS_CLASSES

CORPUS = """\
[TOC]

Intro with a note[^one], the same note again[^one], another[^two] and a third[^3].
Links: https://example.com/auto and www.example.org, and ~~struck~~ text.

## Tables

| Left | Centre | Right |
|:-----|:------:|------:|
| a    | b      | c     |

## Tasks

- [ ] open task
- [x] finished task

## Tasks

Same heading twice.

### Über uns

### 日本語の見出し

## Code

```python
def greet(name):
    return f"Hello {name}"  # a comment
```

```js
const answer = 42;
```

```klingon
plain <escaped> text
```

## Rechts nach links

שלום עולם, זהו משפט בעברית.

> مرحبا بالعالم

[^one]: The first note.
[^two]: The second note, with `code`.
[^3]: The third note.
"""


class Page(HTMLParser):
    """Collect ids, in-page links, and the attributes of every start tag."""

    def __init__(self):
        """Start with nothing seen."""
        super().__init__()
        self.ids: list[str] = []
        self.fragments: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        """Note the tag's id, its in-page link and its attributes."""
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        href = attributes.get("href") or ""
        if href.startswith("#"):
            self.fragments.append(href[1:])

    def with_tag(self, name: str) -> list[dict[str, str | None]]:
        """Return the attributes of every `name` element."""
        return [attributes for tag, attributes in self.tags if tag == name]


def parsed(html: str) -> Page:
    """Return the page parsed."""
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_every_in_page_link_resolves_and_every_id_is_ours(app, ctx):
    page = parsed(render_markdown(CORPUS))
    assert len(page.ids) == len(set(page.ids)), page.ids
    assert all(ident.startswith("c-") for ident in page.ids), page.ids
    assert page.fragments, "no in-page links"
    missing = [fragment for fragment in page.fragments if fragment not in page.ids]
    assert missing == []


def test_footnotes_link_both_ways(app, ctx):
    html = render_markdown(CORPUS)
    page = parsed(html)
    # Three notes, four markers (one note is referred to twice), a back link per marker.
    assert [i for i in page.ids if i.startswith("c-fn-")] == ["c-fn-one", "c-fn-two", "c-fn-3"]
    markers = [i for i in page.ids if i.startswith("c-fnref-")]
    assert markers == ["c-fnref-one", "c-fnref-one-2", "c-fnref-two", "c-fnref-3"]
    back = [a["href"] for a in page.with_tag("a") if a.get("class") == "footnote-backref"]
    assert back == [f"#{marker}" for marker in markers]
    assert all(
        a.get("aria-label") for a in page.with_tag("a") if a.get("class") == "footnote-backref"
    )


def test_headings_get_unique_readable_ids_with_anchor_links(app, ctx):
    page = parsed(render_markdown(CORPUS))
    headings = [
        attributes["id"]
        for tag, attributes in page.tags
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
    ]
    assert headings == [
        "c-tables", "c-tasks", "c-tasks-1", "c-über-uns", "c-日本語の見出し", "c-code",
        "c-rechts-nach-links",
    ]  # fmt: skip
    anchors = [a for a in page.with_tag("a") if a.get("class") == "c-anchor"]
    assert [a["href"] for a in anchors] == [f"#{ident}" for ident in headings]
    assert all(a.get("aria-label") for a in anchors)


def test_the_table_of_contents_nests_by_level(app, ctx):
    html = render_markdown(CORPUS)
    assert "[TOC]" not in html
    nav = html[html.index("<nav") : html.index("</nav>")]
    assert 'class="c-toc"' in nav and 'aria-label="' in nav
    # The h3 headings are a list inside the item of the h2 before them.
    assert nav.index('href="#c-tasks-1"') < nav.index("<ul", nav.index('href="#c-tasks-1"'))
    assert nav.count("<ul") == 2
    assert '<a href="#c-über-uns" rel="noopener noreferrer">Über uns</a>' in nav


def test_tables_keep_alignment_and_text_blocks_get_a_direction(app, ctx):
    page = parsed(render_markdown(CORPUS))
    cells = page.with_tag("th") + page.with_tag("td")
    assert [cell["align"] for cell in cells] == ["left", "center", "right"] * 2
    for tag in ("p", "li", "blockquote", "th", "td", "h2", "h3"):
        assert page.with_tag(tag) and all(a.get("dir") == "auto" for a in page.with_tag(tag))


def test_task_lists_strikethrough_and_autolinks(app, ctx):
    html = render_markdown(CORPUS)
    page = parsed(html)
    boxes = page.with_tag("input")
    assert [(box["type"], "disabled" in box, "checked" in box) for box in boxes] == [
        ("checkbox", True, False),
        ("checkbox", True, True),
    ]
    assert "<del>struck</del>" in html
    assert '<a href="https://example.com/auto" rel="noopener noreferrer">' in html
    assert '<a href="http://www.example.org" rel="noopener noreferrer">' in html


def test_code_is_highlighted_with_classes_only(app, ctx):
    html = render_markdown(CORPUS)
    page = parsed(html)
    assert '<code class="language-python"><span class="k">def</span>' in html
    assert '<span class="kd">const</span>' in html  # JavaScript
    # An unknown language stays plain escaped code.
    assert '<pre><code class="language-klingon">plain &lt;escaped&gt; text\n</code></pre>' in html
    classes = {a.get("class") for a in page.with_tag("span")}
    assert classes and classes <= PYGMENTS_CLASSES
    assert "style=" not in html and "<script" not in html


def test_the_excerpt_is_prose_only(app, ctx):
    excerpt = make_excerpt(render_markdown(CORPUS))
    assert excerpt.startswith("Intro with a note, the same note again, another and a third.")
    for fragment in ("[TOC]", "Contents", "def greet", "const", "first note", "#", "¶", "↩"):
        assert fragment not in excerpt, fragment
    assert "open task finished task" in excerpt  # list items do not run together


def test_excerpts_separate_list_items_and_drop_inline_code():
    html = render_markdown("- one\n- two\n\n1. three\n2. four\n\nRun `rm -rf` now.")
    assert make_excerpt(html) == "one two three four Run now."


def test_the_stylesheet_is_built_and_linked(app, client):
    committed = Path(app.static_folder) / CONTENT_CSS
    assert committed.read_text(encoding="utf-8") == stylesheet(), "run `flask cms content-css`"
    css = stylesheet()
    assert ".highlight .k " in css and "@media (prefers-color-scheme: dark)" in css
    assert "url(" not in css and "expression" not in css
    assert client.get("/").status_code == 200
    assert f"/static/{CONTENT_CSS}" in client.get("/").get_data(as_text=True)
    response = client.get(f"/static/{CONTENT_CSS}")
    assert response.status_code == 200
    response.close()
