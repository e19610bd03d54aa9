"""The page cache's store: whole public pages, kept until what they show changes.

A stored page ("entry") is a pickled dict in a Flask-Caching backend: the status, the headers
and the body in three encodings (identity, gzip, brotli), each compressed once when it is
stored, plus what is needed to tell whether it is still right:

- `deps`: the names the page recorded (cms.services.page_deps: "post:12", "posts", "menu").
- `versions`: for each name, the value of its *version key* ("v:<name>") when the entry was
  made. A purge writes a new random value into the version key of every name it purges; an
  entry whose recorded value differs from the current one (or whose version key is gone, e.g.
  evicted) is stale. Random tokens instead of counters: no atomic increment is needed (the
  file cache has none), two hosts purging at once cannot produce the same value, and no
  clock is involved, so clock skew between hosts does not matter.
- `last`: the value of the key "last" when the entry was made. Every purge writes a new random
  value there *before* it writes the version keys, and another one *after* them. A hit reads
  the entry and "last" in one `get_many`; when "last" is unchanged nothing at all was purged
  since, and the entry is served without looking at its names (two reads on the file cache,
  one round trip on Redis). Only after some purge does a hit read the entry's version keys
  (one more `get_many`); if they all match, the entry is re-stored with the new "last" so
  later hits take the short path again. That check may fall between a purge's two writes of
  "last", when its version keys are not written yet: the entry is then vouched for with a
  "last" that the purge replaces when it ends, so no later hit trusts it without a new check.
- `expires`: when the entry stops being served (epoch seconds, float): PAGE_CACHE_SECONDS
  after it was made, or earlier at the next scheduled change (the next publication or unpublish
  time of any published post or page), so a scheduled post is on the home page at its time
  without any write and without any job.

Why an entry made while a purge runs is never stored stale: the renderer reads "last" before
the page is made and again (after the version keys) when it stores it; a purge writes "last"
first, so either the purge wrote "last" before the second read (the values differ and the page
is not stored) or it had not started writing when the version keys were read (the entry keeps
the old values and becomes stale as soon as the purge writes the new ones). The database commit
always precedes the purge (purges run after_commit), so a page that read old rows is caught by
one of the two cases. What a page shows from kept figures (counts, related posts: `remember`)
was not read from the database during the render but checked against version keys, perhaps
before the purge wrote them; so the entry keeps, for those names, the versions the figures
were checked at (page_deps.vouched), and such a page is stale as soon as the purge ends.

Every key also has a lifetime: version keys and "last" live 2 x PAGE_CACHE_SECONDS (+1 min),
longer than any entry made with them, so a full file cache drops entries before it drops the
versions they depend on (cachelib's file cache prunes the earliest expiry first); losing a
version key only makes entries stale, never wrongly fresh.

Single-flight: rendering a missing or stale page takes a lock ("l:<key>", the backend's
atomic `add` with PAGE_CACHE_LOCK_SECONDS); the others poll for the fresh entry. The backends'
own `add` is not atomic (cachelib's file cache checks, then writes; its Redis cache sends
SETNX and EXPIRE separately, so a crash in between leaves a lock that never expires), hence the
two subclasses below: the file cache adds by hard-linking a finished file into place (only one
process can create the name) and the Redis cache adds with one `SET NX EX`.

A page the app answered but that may not be kept (no names recorded, a cookie set, not 200,
private) is remembered as a *pass* marker for PAGE_CACHE_PASS_SECONDS: requests for it go
straight to the app without waiting for a lock. A pass marker never serves content, so it can
never be stale.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import pickle
import secrets
import struct
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime

import brotli
from flask import current_app
from flask_caching.backends import FileSystemCache, RedisCache
from sqlalchemy import func, select
from werkzeug.http import parse_date

from cms.extensions import db
from cms.models import Post, PostKind, PostStatus, utcnow
from cms.services import page_deps
from cms.services.kept import Kept

# Request headers that make a GET conditional or partial: the app renders a page to store
# without them, and answers 200 as it is when none is there (werkzeug's make_conditional).
CONDITIONAL_HEADERS = frozenset(
    (
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_IF_MATCH",
        "HTTP_IF_UNMODIFIED_SINCE",
        "HTTP_IF_RANGE",
        "HTTP_RANGE",
    )
)

# Key names inside the backend (the backend's own prefix comes first).
LAST_KEY = "last"
VERSION_PREFIX = "v:"
ENTRY_PREFIX = "e:"
MEMO_PREFIX = "m:"
LOCK_PREFIX = "l:"
# The implicit name every entry depends on: purging it drops every page (purge_all).
ALL = "*"

# Response headers never stored: hop-by-hop, per-response, or rebuilt per variant.
UNSTORED_HEADERS = frozenset(
    {
        "set-cookie",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "etag",
        "vary",
        "date",
        "x-page-cache",
    }
)
# Headers a 304 carries (RFC 9110 15.4.5), besides those the server adds itself.
NOT_MODIFIED_HEADERS = frozenset(
    {"cache-control", "content-location", "expires", "last-modified", "etag", "vary"}
)
# Bodies worth compressing (by Content-Type without parameters).
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/xml",
        "text/javascript",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/json",
        "application/ld+json",
        "application/feed+json",
        "application/javascript",
        "application/manifest+json",
        "image/svg+xml",
    }
)
# Smaller bodies are served as they are: compressing them saves less than the header costs.
MIN_COMPRESS_BYTES = 256
# Connections to Redis one process opens at most.
REDIS_CONNECTIONS = 32
GZIP_LEVEL = 9
BROTLI_QUALITY = 11


class PageFileSystemCache(FileSystemCache):
    """Flask-Caching's file cache with an `add` that only one process can win.

    The file is written under a temporary name and hard-linked to the key's name: link(2)
    fails when the name exists, so of several processes adding at once exactly one succeeds.
    An expired file left in place (a lock whose holder died) is removed and the link retried
    once; two processes doing that at the same moment may both win, which costs one extra
    render, never a wrong page.
    """

    def add(self, key, value, timeout=None) -> bool:
        if self.has(key):
            return False
        filename = self._get_filename(key)
        expires = self._normalize_timeout(timeout)
        fd, tmp = tempfile.mkstemp(suffix=self._fs_transaction_suffix, dir=self._path)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(struct.pack("I", expires))
                self.serializer.dump(value, out)
            os.chmod(tmp, self._mode)
            for _attempt in range(2):
                try:
                    os.link(tmp, filename)
                except FileExistsError:
                    if self.has(key):  # valid: somebody else holds it
                        return False
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(filename)  # expired: its holder is gone
                else:
                    self._update_count(delta=1)
                    return True
            return False
        except OSError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)


class PageRedisCache(RedisCache):
    """Flask-Caching's Redis cache with an atomic `add` (one SET NX EX, never a lock without
    expiry), on a blocking connection pool: when many threads wait for one page at once they
    queue for a connection (REDIS_CONNECTIONS per process) instead of failing."""

    @classmethod
    def factory(cls, app, config, args, kwargs):
        # Memory: only the Redis store needs the client (~5 MiB a worker on the file store).
        import redis

        pool = redis.BlockingConnectionPool.from_url(
            config["CACHE_REDIS_URL"], max_connections=REDIS_CONNECTIONS, timeout=10
        )
        kwargs.update(host=redis.Redis(connection_pool=pool))
        if config.get("CACHE_KEY_PREFIX"):
            kwargs["key_prefix"] = config["CACHE_KEY_PREFIX"]
        return cls(*args, **kwargs)

    def add(self, key, value, timeout=None) -> bool:
        seconds = self._normalize_timeout(timeout)
        return bool(
            self._write_client.set(
                name=f"{self._get_prefix()}{key}",
                value=self.serializer.dumps(value),
                nx=True,
                ex=seconds if seconds != -1 else None,
            )
        )


def new_token() -> str:
    """Return a fresh version value: random, so no two purges anywhere write the same one."""
    return secrets.token_hex(8)


def entry_key(key: str) -> str:
    """Return the backend key of a page's entry (long addresses are hashed)."""
    if len(key) > 200:
        key = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()
    return ENTRY_PREFIX + key


def lock_key(key: str) -> str:
    """Return the backend key of the lock for rendering a page."""
    return LOCK_PREFIX + entry_key(key)[len(ENTRY_PREFIX) :]


def next_scheduled_change(now: datetime | None = None) -> datetime | None:
    """Return the next time a published post or page appears or goes away (None: none).

    One round trip: four scalar subqueries, each answered from the front of an index
    (ix_post_listing, ix_post_kind_status_unpublish_at_published_at).
    """
    now = now or utcnow()
    parts = []
    for kind in (PostKind.POST, PostKind.PAGE):
        for column in (Post.published_at, Post.unpublish_at):
            parts.append(
                select(func.min(column))
                .where(Post.kind == kind, Post.status == PostStatus.PUBLISHED, column > now)
                .scalar_subquery()
            )
    times = [value for value in db.session.execute(select(*parts)).one() if value is not None]
    return min(times) if times else None


def seconds_until_next_change() -> float | None:
    """Return how many seconds from now the next scheduled change is (None: none)."""
    now = utcnow()
    when = next_scheduled_change(now)
    return None if when is None else (when - now).total_seconds()


def _content_type(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def variant_etag(etag: str, encoding: str) -> str:
    """Return the entity tag of one encoding of a body (a strong tag differs per encoding)."""
    if encoding == "identity":
        return etag
    return f'{etag[:-1]}-{encoding}"' if etag.endswith('"') else f"{etag}-{encoding}"


def body_etag(body: bytes) -> str:
    """Return a strong entity tag made from a body, for responses that came without one."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def entry_size(entry: dict) -> int:
    """Return roughly the bytes an entry takes in memory: its bodies and headers, or for a
    kept figure the size it was given when it was kept (its pickled size)."""
    if "variants" not in entry:
        return entry["size"]
    return sum(len(body) + 1024 for _, body, _ in entry["variants"].values())


def build_variants(status: str, headers: list[tuple[str, str]], body: bytes) -> dict:
    """Return the ready-to-send header lists and bodies of every encoding of a response.

    Everything a hit needs is computed here, once: the hit path only picks a variant.
    """
    etag = None
    last_modified = None
    vary = []
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower == "etag":
            etag = value
        elif lower == "last-modified":
            parsed = parse_date(value)
            last_modified = None if parsed is None else parsed.timestamp()
        if lower == "vary":
            vary.extend(part.strip() for part in value.split(",") if part.strip())
        if lower not in UNSTORED_HEADERS:
            kept.append((name, value))
    etag = etag or body_etag(body)
    if not any(part.lower() == "accept-encoding" for part in vary):
        vary.append("Accept-Encoding")
    vary_header = ("Vary", ", ".join(dict.fromkeys(vary)))
    bodies = {"identity": body}
    if _content_type(headers) in COMPRESSIBLE_TYPES and len(body) >= MIN_COMPRESS_BYTES:
        bodies["br"] = brotli.compress(body, quality=BROTLI_QUALITY)
        bodies["gzip"] = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    variants = {}
    etags = set()
    for encoding, data in bodies.items():
        tag = variant_etag(etag, encoding)
        etags.add(tag.removeprefix("W/"))
        full = [*kept, ("ETag", tag), vary_header]
        if encoding != "identity":
            full.append(("Content-Encoding", encoding))
        not_modified = [(n, v) for n, v in full if n.lower() in NOT_MODIFIED_HEADERS]
        full.append(("Content-Length", str(len(data))))
        variants[encoding] = (full, data, not_modified)
    return {
        "status": status,
        "variants": variants,
        "etags": frozenset(etags),
        "last_modified": last_modified,
    }


class PageCache:
    """The page cache of one app: a Flask-Caching backend plus the rules above."""

    def __init__(self, backend, config: dict):
        self.backend = backend
        self.seconds = int(config.get("PAGE_CACHE_SECONDS", 3600))
        self.lock_seconds = max(1, int(config.get("PAGE_CACHE_LOCK_SECONDS", 10)))
        self.pass_seconds = max(1, int(config.get("PAGE_CACHE_PASS_SECONDS", 60)))
        self.version_seconds = 2 * self.seconds + 60
        # This worker's copies of the entries it served, by entry key (None: off).
        local_mib = float(config.get("PAGE_CACHE_LOCAL_MIB") or 0)
        self.local = Kept(int(local_mib * 1024 * 1024), size=entry_size) if local_mib > 0 else None

    # --- versions and purges ---------------------------------------------------------------

    def current_last(self) -> str:
        """Return the current "last purge" value, creating it when it is missing."""
        value = self.backend.get(LAST_KEY)
        if value is None:
            self.backend.add(LAST_KEY, new_token(), timeout=self.version_seconds)
            value = self.backend.get(LAST_KEY)
        return value

    def purge(self, names: Iterable[str]) -> None:
        """Make every stored page that shows one of these names stale, on every worker/host.

        "last" is written first and again last (see the module docstring for why).
        """
        names = set(names)
        if not names:
            return
        token = new_token()
        versions = {VERSION_PREFIX + name: token for name in names}
        started = self.backend.set(LAST_KEY, token, timeout=self.version_seconds)
        written = self.backend.set_many(versions, timeout=self.version_seconds)
        ended = self.backend.set(LAST_KEY, new_token(), timeout=self.version_seconds)
        if not (started and ended and len(written or ()) == len(versions)):
            # A write failed (the backends report it instead of raising): without "last",
            # no hit and no worker's copy takes the short path; all check their versions.
            self.backend.delete(LAST_KEY)

    def purge_all(self) -> None:
        """Make every stored page stale (templates or settings changed)."""
        self.purge([ALL])

    # --- reading ---------------------------------------------------------------------------

    def lookup(self, key: str):
        """Return the fresh entry for an address, PASS for a pass marker, or None.

        An entry this worker served before is taken from its own copy when no purge has
        happened since (the "last purge" value is the one the entry was checked against) and
        it has not expired: the store is asked for that one small value only. After any purge
        the store's entry is read and checked as usual.
        """
        ekey = entry_key(key)
        kept = self._checked_copy(ekey)
        if kept is not None:
            return kept
        entry = self._lookup_stored(ekey)
        if self.local is not None and entry is not None and entry is not PASS:
            self.local.keep(ekey, entry)
        return entry

    def _checked_copy(self, key: str):
        """Return this worker's copy under `key` while the store's "last purge" value is the
        one it was checked against and it has not expired; otherwise forget it (None)."""
        local = self.local
        kept = local.find(key) if local is not None else None
        if kept is None:
            return None
        last = self.backend.get(LAST_KEY)
        if last is not None and kept["last"] == last and kept["expires"] > time.time():
            return kept
        local.discard(key)
        return None

    def _lookup_stored(self, ekey: str):
        entry, last = self.backend.get_many(ekey, LAST_KEY)
        if entry is None:
            return None
        now = time.time()
        if entry["expires"] <= now:
            return None
        if entry.get("pass"):
            return PASS
        if last is not None and entry["last"] == last:
            return entry
        deps = entry["deps"]
        current = self.backend.get_many(*(VERSION_PREFIX + name for name in deps))
        if None in current or tuple(current) != entry["versions"]:
            return None
        if last is not None:
            # Still right after the latest purge: note that, so the next hits take the short path.
            entry["last"] = last
            self.backend.set(ekey, entry, timeout=math.ceil(entry["expires"] - now) + 1)
        return entry

    # --- writing ---------------------------------------------------------------------------

    def versions_of(self, deps: tuple[str, ...]) -> tuple | None:
        """Return the current version values of these names, creating the missing ones."""
        keys = [VERSION_PREFIX + name for name in deps]
        current = self.backend.get_many(*keys)
        missing = [key for key, value in zip(keys, current, strict=True) if value is None]
        if missing:
            for key in missing:
                self.backend.add(key, new_token(), timeout=self.version_seconds)
            current = self.backend.get_many(*keys)
            if None in current:
                return None
        return tuple(current)

    def store(
        self,
        key: str,
        deps: Iterable[str],
        last_before: str,
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
        until_change: float | None,
        seen: dict[str, str] | None = None,
    ) -> dict | None:
        """Store a rendered page; return its entry, or None when it may not be kept now.

        `last_before` is the "last" value read before the page was rendered; when it changed
        meanwhile some purge ran during the render and the page is not stored (the next request
        renders it again). `seen`: the versions at which the kept figures the page shows were
        checked (page_deps.vouched); the entry keeps those instead of the current ones, so a
        figure checked before a purge's version keys landed leaves the page stale at once.
        """
        seen = seen or {}
        deps = tuple(sorted({ALL, *deps, *seen}))
        lifetime = float(self.seconds)
        if until_change is not None:
            lifetime = min(lifetime, until_change)
        if lifetime <= 0:
            return None
        versions = self.versions_of(deps)
        if versions is None or self.backend.get(LAST_KEY) != last_before:
            return None
        versions = tuple(
            seen.get(name, version) for name, version in zip(deps, versions, strict=True)
        )
        now = time.time()
        entry = {
            **build_variants(status, headers, body),
            "deps": deps,
            "versions": versions,
            "last": last_before,
            "expires": now + lifetime,
            "stored_at": now,
        }
        self.backend.set(entry_key(key), entry, timeout=math.ceil(lifetime) + 1)
        return entry

    def store_pass(self, key: str) -> None:
        """Remember that this address is answered by the app every time, for a while."""
        entry = {"pass": True, "expires": time.time() + self.pass_seconds}
        self.backend.set(entry_key(key), entry, timeout=self.pass_seconds + 1)

    # --- figures kept like pages ------------------------------------------------------------

    def remember(self, key: str, names: tuple[str, ...], compute):
        """Return a figure (a count, the month list) kept until one of `names` is purged.

        The same versions and scheduled-change cap as pages, so a count is exact: a change
        purges it, and a post scheduled for later is counted from its time on. Like pages, a
        figure this worker checked is kept in its copies with the "last purge" value it was
        checked against, and taken from there while that value is unchanged.
        """
        deps = tuple(sorted({ALL, *names}))
        mkey = MEMO_PREFIX + key
        kept = self._checked_copy(mkey)
        if kept is not None:
            page_deps.vouched(deps, kept["versions"])
            return kept["value"]
        keys = [mkey, LAST_KEY, *(VERSION_PREFIX + name for name in deps)]
        found, last, *current = self.backend.get_many(*keys)
        now = time.time()
        if (
            found is not None
            and found["expires"] > now
            and None not in current
            and tuple(current) == found["versions"]
        ):
            if self.local is not None and last is not None:
                # "last" was read before the versions: a purge that had written it but not
                # yet its versions writes it again when it ends, so this copy stops there.
                size = len(pickle.dumps(found["value"], pickle.HIGHEST_PROTOCOL))
                self.local.keep(mkey, {**found, "last": last, "size": size})
            page_deps.vouched(deps, found["versions"])
            return found["value"]
        versions = self.versions_of(deps)
        value = compute()
        if versions is None:
            return value
        page_deps.vouched(deps, versions)
        lifetime = float(self.seconds)
        until_change = seconds_until_next_change()
        if until_change is not None:
            lifetime = min(lifetime, until_change)
        if lifetime > 0:
            memo = {"value": value, "versions": versions, "expires": now + lifetime}
            self.backend.set(mkey, memo, timeout=math.ceil(lifetime) + 1)
        return value

    # --- single flight ---------------------------------------------------------------------

    def acquire(self, key: str) -> str | None:
        """Try to become the one request that renders this page; return the lock's token."""
        token = new_token()
        if self.backend.add(lock_key(key), token, timeout=self.lock_seconds):
            return token
        return None

    def release(self, key: str, token: str) -> None:
        """Give the lock back (only our own: an expired one may belong to another request)."""
        name = lock_key(key)
        if self.backend.get(name) == token:
            self.backend.delete(name)


class _Pass:
    """The marker of an address the cache lets through to the app."""

    def __repr__(self) -> str:
        return "PASS"


PASS = _Pass()


def get_page_cache(app=None) -> PageCache | None:
    """Return the app's page cache, or None when it is off."""
    app = app or current_app
    return app.extensions.get("page_cache")


def remember(key: str, names: tuple[str, ...], compute):
    """Return compute(), kept in the page cache's store until a name is purged (no store: run)."""
    cache = get_page_cache()
    if cache is None:
        return compute()
    return cache.remember(key, names, compute)


def purge(*names: str) -> None:
    """Purge names in the current app's page cache (nothing when it is off)."""
    cache = get_page_cache()
    if cache is not None:
        cache.purge(names)


def purge_all() -> None:
    """Drop every page of the current app's page cache (after a deploy, a settings change)."""
    cache = get_page_cache()
    if cache is not None:
        cache.purge_all()
