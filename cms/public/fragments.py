"""Parts of the readers' pages kept by what they show: post cards, the header and the footer.

A card of a post looks the same wherever the post is listed (home, page 7, a tag, related
posts), and the header and footer are the same on every visit to an address, yet drawing them
is most of a page's time (macros, links, translations, image candidates). A template wraps
such a part in `{% call memo("card", post.memo_key, ...) %}...{% endcall %}`: the key holds
everything the part shows (the values, not ids: a post's title, tags, author, image, reading
time; the menu's items), so a kept part can never be out of date and nothing has to purge it.
The data is still read on every request; only the drawing of unchanged parts is skipped.

Each worker keeps what it drew last within FRAGMENT_MEMO_MIB (0 turns this off); the language, the
address the site is reached at and the app's settings are part of every key. Nothing is kept
for requests with a person's cookie: their header shows their name and their forms.
"""

from flask import current_app, request
from jinja2 import Undefined

from cms.services.kept import Kept
from cms.web import personal

EXTENSION = "cms_fragments"
# Where a request keeps what every memo() call of it shares (in its WSGI environ).
WHERE = "cms.fragments"


def memo(*key, caller):
    """Template call block: the part `caller()` draws, kept under `key` (see the module)."""
    environ = request.environ
    where = environ.get(WHERE)
    if where is None:
        # Once per request: the store, or False when nothing may be kept for this request.
        app = current_app._get_current_object()
        fragments = app.extensions.get(EXTENSION)
        if fragments is None or personal():
            where = False
        else:
            place = (request.script_root, request.host_url, app.config.get("THEME_FOLDER"))
            where = (fragments, place)
        environ[WHERE] = where
    if where is False or any(isinstance(part, Undefined) for part in key):
        return caller()
    fragments, place = where
    full = (*place, *key)
    try:
        hash(full)
    except TypeError:  # a part of the key that cannot be a key (a list): draw it every time
        return caller()
    return fragments.get(full, caller)


def init_fragments(state) -> None:
    """Give the app its store of drawn parts (blueprint registration hook)."""
    app = state.app
    mib = float(app.config.get("FRAGMENT_MEMO_MIB") or 0)
    if mib > 0:
        app.extensions[EXTENSION] = Kept(int(mib * 1024 * 1024))
    app.jinja_env.globals["memo"] = memo
