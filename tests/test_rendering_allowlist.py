"""Every tag and attribute the pipeline added to the allow-list, attacked (SECURITY 2).

The checkbox of task lists, ids (DOM clobbering), Pygments' span classes, alignment, classes,
direction and code info strings; then the hostile corpus once more: no script, no event
handler, no load from another host.
"""

import re
from html.parser import HTMLParser

import pytest

from cms.services.media_library import MediaLibrary
from cms.services.rendering import render_markdown
from cms.services.rendering.sanitize import PYGMENTS_CLASSES, sanitize_final
from tests.test_rendering_features import HOSTILE, INPUT, only_disabled_checkboxes

OUR_ID = re.compile(r"c-[\w-]+")


class Tags(HTMLParser):
    """Collect every start tag with its attributes, as a browser would read them."""

    def __init__(self):
        """Start with no tags."""
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        """Keep the tag and its attributes."""
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Return the start tags of `html`."""
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


INPUTS = [
    '<input type="text" value="x">',
    '<input type="hidden" name="csrf_token" value="x">',
    '<input type="checkbox">',
    '<input type="checkbox" disabled="false">',
    '<input type="checkbox" onclick="alert(1)" onfocus="alert(1)" autofocus>',
    '<input type="submit" formaction="https://evil.example.com/steal">',
    '<input type="image" src="https://evil.example.com/i.png">',
    '<input type="checkbox" checked="checked" form="cms-post-form" name="publish" value="1">',
    '<input type="file" accept="*" multiple>',
    "- [ ] <input type=text autofocus onfocus=alert(1)>",
    "- [x] done <input TYPE=TEXT>",
]


@pytest.mark.parametrize("source", INPUTS)
def test_an_input_is_only_ever_a_disabled_checkbox(source):
    out = render_markdown(f"Before.\n\n{source}\n\nAfter.")
    assert out.count("<input") == len(INPUT.findall(out)), out
    assert only_disabled_checkboxes(out), out
    for tag, attributes in tags_of(out):
        if tag == "input":
            assert set(attributes) <= {"type", "checked", "disabled", "aria-label"}, attributes
            assert attributes["type"] == "checkbox" and "disabled" in attributes
    for word in ("text", "hidden", "submit", "formaction", "onclick", "autofocus", "evil", "form="):
        assert word not in out.lower().replace("type=", ""), (word, out)


CLOBBERING = [
    '<a id="cms-post-form">x</a>',
    '<a name="cms-post-form">x</a>',
    '<img name="location" src="/x.png">',
    '<div id="main">x</div>',
    '<p id="__proto__">x</p>',
    '<p id="location">x</p>',
    '<p id="cms-editor-config">x</p>',
    '<p id="a b" >x</p> <p id=\'q"uote\'>y</p> <p id="&quot;&gt;&lt;svg">z</p>',
    '<h2 id="">empty</h2> <h3 id="   ">blank</h3>',
    "# cms-post-form\n\n## main",
    "Note[^cms-post-form].\n\n[^cms-post-form]: clobber?",
    '<form id="cms-post-form"><input name="x"></form>',
    '<section id="csrf_token" class="footnotes">x</section>',
]


@pytest.mark.parametrize("source", CLOBBERING)
def test_a_body_cannot_make_an_id_or_name_of_the_page(source):
    out = render_markdown(source)
    for _tag, attributes in tags_of(out):
        assert "name" not in attributes, out
        if "id" in attributes:
            assert OUR_ID.fullmatch(attributes["id"] or ""), out
        href = attributes.get("href") or ""
        if href.startswith("#") and href != "#":
            assert OUR_ID.fullmatch(href[1:]), out


def test_in_page_links_follow_the_ids_they_point_to():
    out = render_markdown('<p id="Top">t</p>\n\n[up](#Top) [there](#Über%20uns) [none](#)')
    assert 'id="c-Top"' in out and 'href="#c-Top"' in out
    assert 'href="#c-Über-uns"' in out and 'href="#"' in out


def test_the_final_pass_keeps_only_our_ids_and_links_whatever_a_stage_writes():
    out = sanitize_final(
        '<a id="cms-post-form" href="#cms-post-form">a</a><p id="c-ok">b</p>'
        '<h2 id="c-a b">c</h2><a href="#c-x&quot;onclick=1">d</a>'
    )
    assert 'id="c-ok"' in out
    assert "cms-post-form" not in out and "c-a b" not in out and "onclick" not in out


SPANS = [
    '<span class="k">typed keyword class</span>',
    '<pre><code class="language-python"><span class="k evil">x</span></code></pre>',
    '<span class="c-anchor">x</span> <span class="highlight">y</span>',
    '<pre class="highlight"><code>x</code></pre>',
    '<nav class="c-toc" aria-label="Fake">x</nav>',
    '<a class="c-anchor" aria-label="fake" href="/x">x</a>',
    '<li class="c-task">x</li>',
]


@pytest.mark.parametrize("source", SPANS)
def test_renderer_classes_cannot_be_typed(source):
    """What only the stages write (classes, nav, aria-label) is dropped from the writer's HTML."""
    out = render_markdown(source)
    for tag, attributes in tags_of(out):
        assert tag != "nav" and "aria-label" not in attributes, out
        assert attributes.get("class") in (None, "footnote-backref", "language-python"), out


def test_the_final_pass_keeps_only_pygments_classes_on_spans():
    out = sanitize_final('<span class="k">a</span><span class="evil">b</span><span class="k nf">c')
    assert '<span class="k">a</span>' in out and 'class="evil"' not in out
    assert 'class="k nf"' not in out
    assert "k" in PYGMENTS_CLASSES and "evil" not in PYGMENTS_CLASSES


@pytest.mark.parametrize(
    "source",
    [
        '<table><tr><td align="javascript:alert(1)">a</td><th align="justify">b</th></tr></table>',
        '<table><tr><td align="left" class="x" style="color:red" onclick="x">a</td></tr></table>',
        '<p dir="evil" class="x">a</p> <code class="language-python onclick">b</code>',
        '<sup class="footnote-ref evil">1</sup><section class="footnotes x">n</section>',
        '<ol start="1 onclick=alert(1)"><li>x</li></ol>',
    ],
)
def test_alignment_direction_and_classes_come_from_fixed_sets(source):
    out = render_markdown(source)
    for _tag, attributes in tags_of(out):
        assert attributes.get("align") in (None, "left", "center", "right"), out
        assert attributes.get("dir") in (None, "auto", "ltr", "rtl"), out
        assert attributes.get("class") in (None, "footnote-ref", "footnotes"), out
        assert not any(name.startswith("on") or name == "style" for name in attributes), out
        assert attributes.get("start") in (None, "1"), out


@pytest.mark.parametrize(
    "info",
    [
        '"><script>alert(1)</script>',
        'python" onmouseover="alert(1)',
        "python><img src=x onerror=alert(1)>",
        "a" * 10_000,
        "python{.x onclick=alert(1)}",
        "html",
        "javascript:alert(1)",
        "../../../../etc/passwd",
    ],
)
def test_a_hostile_code_info_string_is_harmless(info):
    out = render_markdown(f"```{info}\n<script>alert(1)</script>\nx = 1\n```")
    assert "<script" not in out and "onerror" not in out and "onmouseover" not in out.lower()
    assert "&lt;" in out and "script" in out  # the code itself is shown, escaped
    for tag, attributes in tags_of(out):
        if tag == "code" and "class" in attributes:
            assert re.fullmatch(r"language-[A-Za-z0-9_+#.-]{1,40}", attributes["class"]), out
        if tag == "span":
            assert attributes.get("class") in PYGMENTS_CLASSES, out


EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
LOADING_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "action", "formaction"}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_hostile_corpus_yields_no_script_handler_or_offsite_load(app, ctx, name):
    out = render_markdown(f"Before.\n\n{HOSTILE[name]}\n\nAfter.", library=MediaLibrary())
    assert "<script" not in out.lower() and not EVENT_HANDLER.search(out), out
    for _tag, attributes in tags_of(out):
        for attribute in LOADING_ATTRIBUTES & set(attributes):
            for url in re.split(r"[\s,]+", attributes[attribute] or ""):
                assert not re.match(r"(?i)([a-z][a-z0-9+.-]*:|//|\\\\)", url), (name, out)
