"""`flask cms bootstrap` and `flask cms seed`: set-up and demo data from the command line."""

import re

from sqlalchemy import func, select

from cms.extensions import db
from cms.models import Post, PostStatus, Role, Tag, User, post_tags
from cms.services.accounts import ensure_roles
from cms.services.roles import ROLES
from tests.helpers import delete_all_rows


def count(model) -> int:
    """Return the number of rows of a model."""
    return db.session.scalar(select(func.count()).select_from(model))


def counts(app) -> dict[str, int]:
    """Return row counts of the tables the commands fill."""
    with app.app_context():
        return {
            "roles": count(Role),
            "users": count(User),
            "posts": count(Post),
            "tags": count(Tag),
        }


def empty(app) -> None:
    """Make the database as empty as a new installation's."""
    with app.app_context():
        delete_all_rows()


def test_bootstrap_on_an_empty_database(app, runner, browser, client):
    """Roles, demo posts and pages and an admin whose password is printed once and works."""
    empty(app)
    result = runner.invoke(args=["cms", "bootstrap", "--admin-email", "owner@example.com"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    assert len(password) >= 12
    # Two posts, plus the About and Contact pages.
    assert counts(app) == {"roles": len(ROLES), "users": 1, "posts": 4, "tags": 2}
    with app.app_context():
        admin = db.session.scalars(select(User)).one()
        assert admin.email == "owner@example.com" and admin.confirmed_at and admin.active
        assert [role.name for role in admin.roles] == ["admin"]
        assert password not in (admin.password or "")
        published = db.session.scalars(select(Post).where(Post.status == PostStatus.PUBLISHED))
        assert len(published.all()) == 4

    browser.login("owner@example.com", password)
    assert client.get("/admin/users/").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert "Welcome to your new CMS" in home
    assert 'href="/about"' in home and 'href="/contact"' in home
    assert client.get("/about").status_code == 200


def test_bootstrap_is_idempotent(app, runner):
    """A second run changes nothing and shows no password."""
    empty(app)
    first = runner.invoke(args=["cms", "bootstrap"])
    assert first.exit_code == 0, first.output
    before = counts(app)
    with app.app_context():
        hashes = sorted(db.session.scalars(select(User.password)))
    second = runner.invoke(args=["cms", "bootstrap"])
    assert second.exit_code == 0, second.output
    assert "password" not in second.output.lower()
    assert counts(app) == before
    with app.app_context():
        assert sorted(db.session.scalars(select(User.password))) == hashes


def test_bootstrap_adds_missing_roles_only(app, runner):
    """On a site with accounts, bootstrap restores a missing role and touches nothing else."""
    with app.app_context():
        db.session.delete(db.session.scalars(select(Role).where(Role.name == "reader")).one())
        db.session.add(User(email="someone@example.com", fs_uniquifier="u1", active=True))
        db.session.commit()
    result = runner.invoke(args=["cms", "bootstrap"])
    assert result.exit_code == 0, result.output
    assert counts(app) == {"roles": len(ROLES), "users": 1, "posts": 0, "tags": 0}


def titles_after_seed(app, runner, *args) -> list[str]:
    """Run `flask cms seed` on a fresh database and return the titles in insertion order."""
    empty(app)
    with app.app_context():
        ensure_roles()
        db.session.commit()
    result = runner.invoke(args=["cms", "seed", *args])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return list(db.session.scalars(select(Post.title).order_by(Post.id)))


def test_seed_is_deterministic(app, runner):
    """The same seed on a fresh database gives the same posts; another seed does not."""
    first = titles_after_seed(app, runner, "--posts", "50", "--seed", "7")
    again = titles_after_seed(app, runner, "--posts", "50", "--seed", "7")
    other = titles_after_seed(app, runner, "--posts", "50", "--seed", "8")
    assert len(first) == 50
    assert first == again
    assert first != other


def test_seed_creates_tags_and_authors(app, runner):
    """Seeded posts have authors (who can be found) and one to three tags each."""
    titles_after_seed(app, runner, "--posts", "50")
    with app.app_context():
        authors = db.session.scalars(select(User).where(User.roles.any(Role.name == "author")))
        authors = authors.all()
        assert len(authors) >= 2 and all(user.slug for user in authors)
        assert count(Tag) >= 5
        links = db.session.execute(
            select(post_tags.c.post_id, func.count()).group_by(post_tags.c.post_id)
        ).all()
        assert len(links) == 50 and all(1 <= n <= 3 for _, n in links)
        assert {p.author_id for p in db.session.scalars(select(Post))} <= {a.id for a in authors}


def test_seed_twice_keeps_slugs_unique(app, runner):
    """Seeding again adds posts with fresh slugs and reuses the authors and tags."""
    titles_after_seed(app, runner, "--posts", "30")
    before = counts(app)
    result = runner.invoke(args=["cms", "seed", "--posts", "30"])
    assert result.exit_code == 0, result.output
    after = counts(app)
    assert after["posts"] == 60
    assert (after["users"], after["tags"]) == (before["users"], before["tags"])
    with app.app_context():
        assert db.session.scalar(select(func.count(func.distinct(Post.slug)))) == 60


def test_seed_refuses_nonsense(app, runner):
    """A post count of zero or less is refused with a message."""
    for value in ("0", "-5", "many"):
        result = runner.invoke(args=["cms", "seed", "--posts", value])
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert counts(app)["posts"] == 0


def test_create_user_with_a_role(app, runner, browser, client):
    result = runner.invoke(
        args=["cms", "create-user", "Writer@Example.com", "--role", "author", "--name", "Wri Ter",
              "--password", "a long author password"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "writer@example.com")).one()
        assert [role.name for role in user.roles] == ["author"]
        assert user.display_name == "Wri Ter" and user.confirmed_at is not None
    assert browser.login("writer@example.com", "a long author password").status_code == 302
    assert client.get("/admin/posts/").status_code == 200
    assert client.get("/admin/tags/").status_code == 403


def test_create_user_refuses_unknown_roles_and_short_passwords(app, runner):
    bad_role = runner.invoke(args=["cms", "create-user", "x@example.com", "--role", "owner",
                                   "--password", "a long enough password"])  # fmt: skip
    assert bad_role.exit_code != 0 and "owner" in bad_role.output
    short = runner.invoke(args=["cms", "create-user", "x@example.com", "--password", "short"])
    assert short.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
