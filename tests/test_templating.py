"""The Jinja environment's globals (cms.templating): same answers, set keys."""

from collections import ChainMap

from tests.factories import make_post, make_user


def test_importing_macros_looks_up_no_global_one_by_one(app, client, ctx, monkeypatch):
    """A post page imports macros four times; none of them walks the globals in Python."""
    author = make_user("writer@example.com", roles=("author",))
    post = make_post(author, title="Imports")
    client.get(f"/posts/{post.slug}")  # templates loaded and compiled
    calls = []
    looked_up = ChainMap.__contains__

    def counting(self, key):
        calls.append(key)
        return looked_up(self, key)

    monkeypatch.setattr(ChainMap, "__contains__", counting)
    response = client.get(f"/posts/{post.slug}")
    assert response.status_code == 200
    assert b"Imports" in response.data
    # Jinja's own ChainMap would be asked once per global (~40) for each of the imports.
    assert calls == []


def test_template_globals_see_the_environment_as_it_is_now(app):
    """A template's own globals come first; a global added later is seen, in keys() too."""
    env = app.jinja_env
    mine = env.make_globals({"site_name": "Mine"})
    shared = env.make_globals(None)
    env.globals["added_later"] = 42
    try:
        assert mine["site_name"] == "Mine"
        assert mine["added_later"] == shared["added_later"] == 42
        assert {"added_later", "site_name", "url_for"} <= mine.keys()
        assert {"added_later"} <= shared.keys()
        assert mine.keys() == set(ChainMap({"site_name": "Mine"}, env.globals).keys())
        # Writing to a template's globals leaves the environment's alone.
        mine["only_here"] = 1
        assert "only_here" not in env.globals
    finally:
        del env.globals["added_later"]
