"""Video embeds and images from other hosts in the renderer, and the CSP that goes with them."""

import re

import pytest

from cms.services.rendering import make_excerpt, render_markdown
from cms.services.rendering.embeds import parse_video_url, video_sources
from cms.services.rendering.library import VideoThumbnail
from cms.services.rendering.offsite import is_offsite
from tests.factories import make_post

YT = "dQw4w9WgXcQ"
WATCH = f"https://www.youtube.com/watch?v={YT}"


class Thumbnails:
    """The library as the renderer asks it, knowing one imported video thumbnail."""

    def __init__(self, *known: VideoThumbnail):
        self.known = {item.source_url: item for item in known}
        self.asked: list[set[str]] = []

    def images(self, names):
        """No library images besides the thumbnails."""
        return {}

    def thumbnails(self, urls):
        """Return the known thumbnails among `urls`."""
        self.asked.append(set(urls))
        return {url: self.known[url] for url in urls if url in self.known}


def figure_of(html: str) -> str:
    """Return the one embed figure in `html`."""
    figures = re.findall(r"<figure class=\"c-embed\".*?</figure>", html, re.S)
    assert len(figures) == 1, html
    return figures[0]


@pytest.mark.parametrize(
    ("address", "provider", "video_id", "start"),
    [
        (f"https://www.youtube.com/watch?v={YT}", "youtube", YT, 0),
        (f"https://youtube.com/watch?v={YT}", "youtube", YT, 0),
        (f"https://m.youtube.com/watch?v={YT}&t=42", "youtube", YT, 42),
        (f"http://www.youtube.com/watch?feature=share&v={YT}&t=1m30s", "youtube", YT, 90),
        (f"https://youtu.be/{YT}", "youtube", YT, 0),
        (f"https://youtu.be/{YT}?t=75", "youtube", YT, 75),
        (f"https://www.youtube.com/shorts/{YT}", "youtube", YT, 0),
        (f"https://youtube.com/shorts/{YT}?t=5s", "youtube", YT, 5),
        ("https://vimeo.com/76979871", "vimeo", "76979871", 0),
        ("https://www.vimeo.com/76979871#t=1m5s", "vimeo", "76979871", 65),
    ],
)
def test_every_address_form_becomes_a_placeholder(address, provider, video_id, start):
    """A video address alone on a line: a figure with the validated id, a link, a title."""
    html = render_markdown(f"Before.\n\n{address}\n\nAfter.")
    figure = figure_of(html)
    assert f'data-provider="{provider}"' in figure
    assert f'data-video="{video_id}"' in figure
    assert (f'data-start="{start}"' in figure) == bool(start)
    name = "YouTube" if provider == "youtube" else "Vimeo"
    assert f"Play video (loads content from {name})" in figure
    assert f'<figcaption class="c-embed-title" dir="auto">Video on {name}</figcaption>' in figure
    # Without script the placeholder links to the video's page, start time kept.
    page = parse_video_url(address).page_url
    assert f'href="{page.replace("&", "&amp;")}"' in figure
    # Nothing from the video site is loaded by the page itself.
    assert "<iframe" not in html and "<img" not in html and "<script" not in html
    assert html.startswith('<p dir="auto">Before.</p>') and html.endswith("After.</p>")


def test_angle_bracket_autolink_is_an_embed_too():
    """`<https://youtu.be/...>` alone on a line is the same address alone on a line."""
    figure_of(render_markdown(f"<https://youtu.be/{YT}>"))


@pytest.mark.parametrize(
    "body",
    [
        f"Watch {WATCH} now.",  # in a sentence
        f"[My favourite video]({WATCH})",  # a link with words of its own
        f"Two: {WATCH} {WATCH}",
        "https://example.com/watch?v=dQw4w9WgXcQ",  # another host
        "https://www.youtube.com/watch?v=tooshort",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQQ",  # 12 characters
        "https://www.youtube.com/channel/UCxyz",
        "https://vimeo.com/channels/staffpicks",
        "https://vimeo.com/123abc",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
        "https://user@www.youtube.com/watch?v=dQw4w9WgXcQ",
        "`https://youtu.be/dQw4w9WgXcQ`",  # code
        "    https://youtu.be/dQw4w9WgXcQ",  # indented code
        "https://example.com/a-plain-link",
    ],
)
def test_other_links_stay_links(body):
    """Only a bare YouTube or Vimeo address alone in its paragraph becomes an embed."""
    html = render_markdown(body)
    assert "c-embed" not in html
    assert "data-video" not in html


def test_thumbnail_and_title_come_from_the_library():
    """The renderer asks the library (no I/O of its own) and shows thumbnail and title."""
    thumb = VideoThumbnail(WATCH, "a" * 64 + ".jpg", 480, 360, 'Never <gonna> "give"')
    library = Thumbnails(thumb)
    html = render_markdown(f"https://youtu.be/{YT}?t=3", library=library)
    figure = figure_of(html)
    assert library.asked == [{WATCH}]
    assert f'<img src="/uploads/{"a" * 64}.jpg" alt="" width="480" height="360"' in figure
    assert 'Never &lt;gonna&gt; "give"</figcaption>' in figure


@pytest.mark.parametrize(
    "body",
    [
        # The placeholder written by hand, with every hostile variant at once.
        '<figure class="c-embed" data-provider="youtube" data-video="&quot;&gt;&lt;script&gt;'
        'alert(1)&lt;/script&gt;" onclick="alert(1)"><a class="c-embed-link" '
        'href="javascript:alert(1)"><span class="c-embed-play">Play</span></a>'
        "<figcaption>x</figcaption></figure>",
        '<figure class="c-embed" data-provider="evil.example" data-video="dQw4w9WgXcQ">'
        '<a class="c-embed-link" href="https://evil.example/">Play</a></figure>',
        '<figure class="c-embed" data-provider="youtube" data-video="dQw4w9WgXcQ" '
        'data-start="1;alert(1)"><a class="c-embed-link" href="#">Play</a></figure>',
        '<div class="c-embed" data-provider="youtube" data-video="dQw4w9WgXcQ">x</div>',
        '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>',
        '<p><a href="javascript:alert(1)">javascript:alert(1)</a></p>',
        '<span class="c-embed-play" onmouseover="alert(1)">x</span>',
        '<figcaption class="c-embed-title" dir="rtl" onclick="x">t</figcaption>',
        f'<a class="c-embed-link c-offsite-image" href="{WATCH}">x</a>',
    ],
)
def test_handwritten_placeholders_never_work(body):
    """The writer cannot type the placeholder's markup: classes and data-* are the renderer's."""
    html = render_markdown(body)
    for forbidden in (
        "data-provider", "data-video", "data-start", "c-embed", "c-offsite-image",
        "onclick", "onmouseover", "href=\"javascript:", "<iframe", "<script", "evil.example\"",
    ):  # fmt: skip
        assert forbidden not in html, (forbidden, html)


def test_handwritten_html_of_a_bare_address_is_validated_like_markdown():
    """Raw HTML holding only a link to a video is an embed, with the id still checked."""
    figure_of(render_markdown(f'<p><a href="{WATCH}">{WATCH}</a></p>'))
    fake = 'https://www.youtube.com/watch?v="><script>alert(1)</script>'
    html = render_markdown(f'<p><a href="{fake}">{fake}</a></p>')
    assert "c-embed" not in html and "<script" not in html


def test_video_sources_name_every_video_in_a_text():
    """The usage records find the videos a body names, in any of their forms."""
    text = f"See https://youtu.be/{YT}?t=4 and\n\nhttps://vimeo.com/42\n\nhttps://example.com/"
    assert video_sources(text) == {WATCH, "https://vimeo.com/42"}


# --- Images from other hosts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "href", "words"),
    [
        ("![A cat](https://other.example/cat.png)", "https://other.example/cat.png", "A cat"),
        ("![](http://other.example/x.png)", "http://other.example/x.png", "http://other.example/x.png"),
        ('<img src="//other.example/y.gif" alt="Y">', "//other.example/y.gif", "Y"),
    ],
)  # fmt: skip
def test_offsite_images_become_links(body, href, words):
    """An image from another host is a link to it, with its alt text: the page loads nothing."""
    html = render_markdown(body)
    link = f'<a class="c-offsite-image" href="{href}" rel="noopener noreferrer">{words}</a>'
    assert link in html
    assert "<img" not in html


def test_offsite_image_inside_a_link_leaves_its_words():
    """A linked image from elsewhere: the outer link keeps the alt text (no link in a link)."""
    html = render_markdown("[![Logo](https://other.example/logo.png)](https://other.example/)")
    assert html == (
        '<p dir="auto"><a href="https://other.example/" rel="noopener noreferrer">Logo</a></p>'
    )


def test_own_images_stay_images():
    """Relative and site addresses are this site's own: they stay images."""
    html = render_markdown("![a](/uploads/x.png) ![b](pics/y.png)")
    assert html.count("<img") == 2
    assert not is_offsite("/uploads/x.png") and is_offsite("HTTPS://x/y") and is_offsite("//x/y")


def test_allow_setting_keeps_https_images(app, monkeypatch):
    """EXTERNAL_IMAGES = "allow": https images stay images; http ones still become links."""
    monkeypatch.setitem(app.config, "EXTERNAL_IMAGES", "allow")
    with app.app_context():
        html = render_markdown("![a](https://other.example/a.png) ![b](http://other.example/b.png)")
    assert '<img src="https://other.example/a.png" alt="a">' in html
    assert 'href="http://other.example/b.png"' in html and 'b.png" alt' not in html


# --- The page around it ----------------------------------------------------------------------


def csp_of(response) -> dict[str, str]:
    """Return the directives of a response's CSP."""
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def test_public_page_with_an_embed_loads_the_script_and_allows_only_the_players(
    app, client, editor
):
    """The page links our script, has no inline handler, and the CSP frames only the players."""
    make_post(editor, title="Video", body=f"Look:\n\n{WATCH}\n")
    response = client.get("/posts/video")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<script src="/static/embed.js" defer></script>' in page
    assert 'data-video="dQw4w9WgXcQ"' in page
    assert "youtube-nocookie" not in page and "<iframe" not in page
    directives = csp_of(response)
    assert directives["frame-src"] == "https://www.youtube-nocookie.com https://player.vimeo.com"
    assert directives["img-src"] == "'self' data:"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    # Readers' pages have no nonce (a cached copy stays valid): embed.js is a file.
    assert directives["script-src"] == "'self'"
    script = client.get("/static/embed.js")
    assert script.status_code == 200
    script.close()


def test_pages_without_embeds_do_not_load_the_script(client, editor):
    """No embed, no script."""
    make_post(editor, title="Plain", body="Just words.")
    assert "embed.js" not in client.get("/posts/plain").get_data(as_text=True)


def test_allow_setting_opens_https_images_in_the_csp(app, client, editor, monkeypatch):
    """Only with EXTERNAL_IMAGES = "allow" may images come from other https hosts."""
    make_post(editor, title="Plain", body="Just words.")
    monkeypatch.setitem(app.config, "EXTERNAL_IMAGES", "allow")
    assert csp_of(client.get("/posts/plain"))["img-src"] == "'self' data: https:"


def test_the_excerpt_leaves_out_the_video_placeholder(app, ctx):
    """A post that starts with a video is summed up by its words, not the play button."""
    html = render_markdown(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n\nThe harbour at dawn, filmed from the wall."
    )
    assert "c-embed" in html
    assert make_excerpt(html) == "The harbour at dawn, filmed from the wall."
