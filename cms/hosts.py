"""Which Host headers the site answers, and which address the links it builds name.

Links that leave the site (mail from Flask-Security, preview links to copy, canonical and
social-image addresses) are built with `url_for(..., _external=True)`. Flask takes their host
from the request unless SERVER_NAME is set, so a forged Host header would put an attacker's
address into a password-reset mail. The rules, set up by cms.config:

- SITE_URL (or SERVER_NAME) set: links name it, scheme included; other Host headers get 400.
- only TRUSTED_HOSTS set: those names are answered (and named in links); others get 400.
- nothing set: only the loopback names `make run` serves on are answered, with any port.
"""

import re
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from cms.templating import TemplateEnvironment

# What a browser on the same machine sends for `make run`: 127.0.0.1, localhost or [::1], with
# an optional port. Werkzeug's TRUSTED_HOSTS cannot name [::1], hence a check of our own.
LOOPBACK_HOST = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?")


class SiteURLError(ValueError):
    """SITE_URL is not an address of the form https://www.example.org."""


def parse_site_url(value: str) -> tuple[str, str]:
    """Return (scheme, host[:port]) of SITE_URL; raise SiteURLError for anything else."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise SiteURLError(
            f"SITE_URL must look like https://www.example.org (no path), not {value!r}"
        )
    return parts.scheme, parts.netloc.lower()


class CmsFlask(Flask):
    """Flask, but the host of every link comes from the settings, never from a request.

    Its templates compare their globals as sets (cms.templating).
    """

    jinja_environment = TemplateEnvironment

    def create_url_adapter(self, request):
        """Refuse hosts nobody configured; build links with SITE_URL's scheme and host."""
        if request is not None and self.config.get("TRUSTED_HOSTS") is None:
            host = get_host(request.environ)
            if not LOOPBACK_HOST.fullmatch(host):
                # Turned into a 400 by Flask (cms.errors answers it in plain text).
                raise SecurityError(f"Host {host!r} is not served without SITE_URL.")
        adapter = super().create_url_adapter(request)
        if request is not None and adapter is not None and self.config.get("SITE_URL"):
            # SERVER_NAME (set from SITE_URL) gives the host; the scheme must follow too, or
            # a site behind a TLS proxy would mail http:// links.
            adapter.url_scheme = self.config["PREFERRED_URL_SCHEME"]
        return adapter
