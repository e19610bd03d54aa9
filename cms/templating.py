"""The app's Jinja environment: Flask's, with globals that compare as sets.

Every `{% from "macros/..." import ... %}` asks Jinja whether the importing page has
globals the imported template lacks (`ctx.globals_keys - template.globals.keys()`). A
template's globals are a ChainMap (its own over the environment's), whose `keys()` is a
KeysView: the difference then runs in Python, one ChainMap lookup per global for each
import. With the ~40 globals of Flask, Flask-Babel, Flask-Security and this app, that was
about a tenth of a post page's instructions (four imports). Here `keys()` gives a real set of
the same keys, made at the call from the maps as they are then, so the difference runs in C
and a global added later is still seen.
"""

from collections import ChainMap

from flask.templating import Environment


class Globals(ChainMap):
    """A template's globals over the environment's, as Jinja makes them, with set keys."""

    def keys(self) -> set:
        """Return the keys of every map, now (a set, so set operations run in C)."""
        return set().union(*self.maps)


class TemplateEnvironment(Environment):
    """Flask's environment whose templates get Globals instead of a plain ChainMap."""

    def make_globals(self, d):
        """Return the globals of a template: its own `d` first, then the environment's."""
        return Globals({} if d is None else d, self.globals)
