"""The yardstick: a minimal Flask app answering one constant 3.3 KB HTML page.

    gunicorn --workers 2 tests.benchmarks.hello:app

The HTTP benchmark (tests.benchmarks.http_pages) serves it beside the CMS and states every
page's cost as a ratio to this one, so the figures travel between machines.
"""

from flask import Flask

_PARAGRAPH = (
    "<p>Most of the work happens before anyone writes a line of code. We measured twice and "
    "were still surprised by the numbers. Readers notice speed long before they notice "
    "design.</p>\n"
)
_HEAD = (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>Hello</title>\n</head>\n<body>\n<main>\n<h1>Hello, readers</h1>\n"
)
_TAIL = "</main>\n</body>\n</html>\n"
# 3,300 bytes exactly: padded with a comment after the paragraphs.
_BODY = _HEAD + _PARAGRAPH * 15 + _TAIL
BODY = _BODY.replace("</body>", "<!--" + "." * (3300 - len(_BODY) - 8) + "-->\n</body>")

app = Flask(__name__)


@app.get("/")
def hello():
    """Return the constant page."""
    return BODY
