"""Helpers for tests that fetch library files: readers get one only while a post shows it."""

from cms.models import File, Post
from cms.services import media_access
from tests.factories import make_post


def show_publicly(*records: File, author=None) -> Post:
    """Publish a post whose body links every file, so readers may fetch them (and renditions)."""
    body = "\n\n".join(f"[{record.id}](/uploads/{record.stored_name})" for record in records)
    return make_post(author or records[0].uploader, body=body)


def signed(url: str) -> str:
    """Return a dashboard-signed form of a file address (/uploads/<name> or /media/<name>)."""
    prefix, name = url.rsplit("/", 1)
    return media_access.dashboard_url(name, prefix + "/")


def fetch(client, url):
    """GET a URL and read the whole body."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response
