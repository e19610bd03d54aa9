"""What writers use renders (CommonMark with GitHub's extensions), and nothing unsafe survives."""

import re

import pytest

from cms.services.rendering import make_excerpt, render_markdown


def test_tables_keep_their_alignment():
    out = render_markdown("| L | C | R |\n|:--|:-:|--:|\n| a | b | c |")
    assert '<th align="left" dir="auto">L</th>' in out
    assert '<th align="center" dir="auto">C</th>' in out
    assert '<td align="right" dir="auto">c</td>' in out
    assert "style=" not in out


def test_fenced_code_keeps_its_language_and_escapes_its_text():
    out = render_markdown("```python\nif a < b:\n    pass\n```\n\n~~~\n<b>x</b>\n~~~")
    assert '<pre class="highlight"><code class="language-python"><span class="k">if</span>' in out
    assert '<span class="o">&lt;</span>' in out
    assert "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>" in out


def test_footnotes():
    out = render_markdown("Text.[^1]\n\n[^1]: The note.")
    assert "<sup" in out and 'href="#c-fn-1"' in out and 'id="c-fn-1"' in out
    assert "The note." in out
    assert "[^1]" not in out


def test_ordered_lists_keep_their_start_number():
    out = render_markdown("3. c\n4. d")
    assert '<ol start="3">' in out


def test_lists_strikethrough_and_raw_html():
    out = render_markdown("- a\n- b\n\n3. c\n4. d\n\n~~gone~~ <kbd>Ctrl</kbd>")
    assert '<ul>\n<li dir="auto">a</li>' in out and "<ol" in out
    assert "<del>gone</del>" in out and "<kbd>Ctrl</kbd>" in out


def test_output_has_no_trailing_line_break():
    assert render_markdown("Hello *you*") == '<p dir="auto">Hello <em>you</em></p>'


def test_excerpt_leaves_out_headings_code_and_tables():
    body = "# Head\n\nFirst words.\n\n```\ncode\n```\n\n| a |\n|---|\n| b |\n\nLast."
    assert make_excerpt(render_markdown(body)) == "First words. Last."


HOSTILE = {
    "javascript link": "[x](javascript:alert(1))",
    "javascript reference": "[x][r]\n\n[r]: javascript:alert(1)",
    "javascript image": "![x](javascript:alert(1))",
    "onerror": "<img src=x onerror=alert(1)>",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "iframe": '<iframe src="https://evil.example.com"></iframe>',
    "style url": '<p style="background:url(javascript:alert(1))">x</p>',
    "form": '<form action="https://evil.example.com"><input name=p></form>',
    "footnote": "a[^1]\n\n[^1]: <script>alert(1)</script>",
    "table cell": "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "task list": "- [ ] <img src=x onerror=alert(1)>",
    "autolink": "www.example.com/<script>alert(1)</script>",
    "deep nesting": "<div>" * 300 + "<script>alert(1)</script>",
}
FORBIDDEN = (
    "javascript:", "onerror", "<script", "<svg", "<iframe", "style=", "<form",
    "alert(1)</script>",
)  # fmt: skip
# The only <input> that survives: a task list's disabled checkbox (attributes in any order).
INPUT = re.compile(r"<input\b([^>]*)>")
CHECKBOX_ATTRIBUTES = re.compile(
    r'(?: (?:type="checkbox"|disabled=""|checked=""|aria-label="[^"<>]*"))+'
)


def only_disabled_checkboxes(out: str) -> bool:
    """Return whether every <input> in `out` is a disabled checkbox and nothing more."""
    return all(
        CHECKBOX_ATTRIBUTES.fullmatch(attributes)
        and 'type="checkbox"' in attributes
        and 'disabled=""' in attributes
        for attributes in INPUT.findall(out)
    )


def test_javascript_autolink_stays_text_without_an_address():
    out = render_markdown("<javascript:alert(1)>")
    assert "href" not in out and "javascript:alert(1)</a>" in out


@pytest.mark.parametrize("name", list(HOSTILE))
def test_nothing_unsafe_survives(name):
    out = render_markdown(f"Before.\n\n{HOSTILE[name]}\n\nAfter.").lower()
    for fragment in FORBIDDEN:
        assert fragment not in out, (name, fragment, out)
    assert out.count("<input") == len(INPUT.findall(out)), (name, out)
    assert only_disabled_checkboxes(out), (name, out)
    assert "before." in out and "after." in out
