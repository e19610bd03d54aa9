"""`flask cms ...`: set-up, accounts and demo data from the command line."""

import os
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import User
from cms.services import accounts, page_cache, rerender, search, seed
from cms.services.orphans import find_orphans, remove_orphans
from cms.services.rendering.highlight import CONTENT_CSS, stylesheet
from cms.services.roles import ADMIN, READER, ROLES
from cms.services.storage import get_storage

cms_cli = AppGroup("cms", help="Manage the CMS.")


@cms_cli.command("create-admin")
@click.argument("email")
@click.option("--password", help="The password; asked for when left out.")
def create_admin(email: str, password: str | None) -> None:
    """Create a confirmed admin who can log in at once (or promote an existing account)."""
    _create(email, password, ADMIN)


@cms_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(list(ROLES)), default=READER, show_default=True)
@click.option("--name", "display_name", help="The name shown for this person.")
@click.option("--password", help="The password; asked for when left out.")
def create_user(email: str, role: str, display_name: str | None, password: str | None) -> None:
    """Create a confirmed account with a role (or give an existing account that role)."""
    _create(email, password, role, display_name)


def _create(email: str, password: str | None, role: str, display_name: str | None = None):
    """Create or promote a confirmed account; errors end the command with a message."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_account(email, password, role, display_name)
    except accounts.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{role.capitalize()} {user.email} is ready to log in.")


@cms_cli.command("bootstrap")
@click.option(
    "--admin-email",
    default=lambda: os.environ.get("ADMIN_EMAIL", "admin@example.com"),
    show_default="ADMIN_EMAIL or admin@example.com",
)
@click.option("--demo/--no-demo", default=True, help="Add demo posts to an empty site.")
def bootstrap(admin_email: str, demo: bool) -> None:
    """Create the roles; on an empty database also demo content and an admin account."""
    accounts.ensure_roles()
    if db.session.scalar(select(func.count(User.id))):
        db.session.commit()
        click.echo("Roles are in place; accounts already exist, nothing else to do.")
        return
    password = accounts.generate_password()
    admin = accounts.create_account(admin_email, password, ADMIN, "Site Admin")
    made = seed.create_demo_content(admin) if demo else 0
    db.session.commit()
    click.echo("")
    click.echo("An admin account was created. This password is shown only once:")
    click.echo(f"    e-mail:   {admin.email}")
    click.echo(f"    password: {password}")
    click.echo(f"Demo posts and pages added: {made}.")
    click.echo("")


@cms_cli.command("seed")
@click.option(
    "--posts",
    "count",
    type=click.IntRange(1, 1_000_000),
    default=100,
    show_default=True,
    help="How many posts to add.",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=1,
    show_default=True,
    help="Random seed; the same seed gives the same posts.",
)
def seed_command(count: int, seed_value: int) -> None:
    """Add N realistic posts with tags and authors, for trying the CMS under load."""
    accounts.ensure_roles()
    started = time.perf_counter()
    made = seed.seed_posts(count, seed_value)
    db.session.commit()
    click.echo(f"Added {made} posts in {time.perf_counter() - started:.1f} s.")


@cms_cli.command("rerender")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=rerender.BATCH_SIZE,
    show_default=True,
    help="Posts rendered and written per transaction.",
)
def rerender_command(batch_size: int) -> None:
    """Render every stored post and page again with the current renderer.

    No revision is recorded and no version bumped: open edit forms stay valid.
    """
    changed = rerender.rerender_all(db.session, batch_size, after_batch=db.session.commit)
    db.session.commit()
    # The bodies were written without the ORM: their search entries follow here.
    search.reindex_all(db.session)
    db.session.commit()
    click.echo(f"Rendered posts and pages again: {changed} changed.")


@cms_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index of every post and page (after changing SEARCH_LANGUAGES).

    One transaction: readers keep searching the old index until the new one is complete.
    """
    started = time.perf_counter()
    count = search.reindex_all(db.session)
    db.session.commit()
    click.echo(f"Indexed {count} posts and pages in {time.perf_counter() - started:.1f} s.")


@cms_cli.command("purge-page-cache")
def purge_page_cache_command() -> None:
    """Make every page in the page cache stale (after a deploy that changed templates or
    settings); each is made again on its next request."""
    if page_cache.get_page_cache() is None:
        click.echo("The page cache is off (PAGE_CACHE); nothing to purge.")
        return
    page_cache.purge_all()
    click.echo("Every cached page will be made again on its next request.")


@cms_cli.command("content-css")
@click.option("--check", is_flag=True, help="Only check that the file is up to date.")
def content_css(check: bool) -> None:
    """Write static/content.css: the styles of rendered bodies and code highlighting."""
    path = Path(current_app.static_folder) / CONTENT_CSS
    text = stylesheet()
    if check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{path} is out of date: run `flask cms content-css`.")
        click.echo(f"{path} is up to date.")
        return
    path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {path}.")


media_cli = AppGroup("media", help="Manage the stored files.")
cms_cli.add_command(media_cli)


@media_cli.command("orphans")
@click.option("--delete", is_flag=True, help="Remove what is found.")
@click.option(
    "--older-than",
    "minutes",
    type=click.IntRange(0),
    default=60,
    show_default=True,
    help="Only leftovers at least this many minutes old (younger ones may be uploads in flight).",
)
def media_orphans(delete: bool, minutes: int) -> None:
    """List stored objects no file refers to, and temporary files of unfinished writes."""
    storage = get_storage()
    found = find_orphans(db.session, storage, older_than=timedelta(minutes=minutes))
    for name in found.objects:
        click.echo(f"orphaned object: {name}")
    for path in found.temp_files:
        click.echo(f"stale temporary file: {path.name}")
    if not delete:
        click.echo(
            f"{len(found.objects)} orphaned objects and {len(found.temp_files)} stale temporary "
            f"files in {storage!r}." + (" Run with --delete to remove them." if found else "")
        )
        db.session.rollback()
        return
    removed = remove_orphans(db.session, storage, found)
    db.session.rollback()
    click.echo(
        f"Deleted {len(removed.objects)} orphaned objects and {len(removed.temp_files)} stale "
        "temporary files."
    )
