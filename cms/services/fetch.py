"""Fetching a file from another host on a writer's behalf, without reaching our own network.

A writer's Markdown names addresses (an image, a video page) that the server fetches at save
time; a hostile address must not turn the server into a tool against its own network (SSRF):
the cloud metadata service at 169.254.169.254, an admin port on 127.0.0.1, a database on 10.x.
So every fetch here:

- speaks http or https only, GET only, through no proxy;
- resolves the host name once, refuses it when any of its addresses is private, loopback,
  link-local, multicast, reserved or unspecified (also when written as an IPv4-mapped, 6to4,
  NAT64 or Teredo IPv6 address, or as a decimal or octal IPv4 number, which the resolver turns
  into the address it means), and connects to exactly the address it checked: a name that
  resolves elsewhere a moment later (DNS rebinding) changes nothing. https keeps certificate
  checks and SNI for the host name;
- follows at most MAX_REDIRECTS redirects, each checked like the first address;
- caps the time to connect, the whole exchange (a watchdog closes the socket at the deadline,
  however slowly the server trickles) and the size of the body (it stops reading past the cap,
  whatever Content-Length says or whether it says anything).

No package did this well and was kept up (advocate's last release is from 2020; drawbridge is
async httpx and a few months old), so this is a small layer over urllib3's connection class.
FETCH_ALLOWED_NETWORKS lists networks exempt from the address refusal (tests, intranets).
"""

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError

# Redirects followed after the first request; the fourth is refused.
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Bytes read from the socket at a time.
CHUNK_BYTES = 64 * 1024
# Defaults when no app is at hand (the settings FETCH_TIMEOUT and FETCH_CONNECT_TIMEOUT).
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0
# Longest address accepted (browsers and servers give up around here too).
MAX_URL_LENGTH = 2048
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052) and the
# local-use NAT64 prefix (RFC 8215), which only ever leads into a private network.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchRefused(Exception):
    """A fetch that was refused or failed; `reason` says why (see `message`)."""

    def __init__(self, reason: str, url: str, **details):
        super().__init__(f"{reason}: {url}")
        self.reason = reason
        self.url = url
        self.details = details

    @property
    def message(self) -> str:
        """Return why, translated, as the end of "… could not be fetched: <message>"."""
        if self.reason == "status":
            return _("the server refused (HTTP %(status)s)", status=self.details.get("status"))
        if self.reason == "too_large":
            return _("it is too large")
        texts = {
            "scheme": _("only http and https addresses can be fetched"),
            "url": _("the address is not valid"),
            "address": _("the address belongs to a private or local network"),
            "redirects": _("it redirects too often or to an address that is not allowed"),
            "timeout": _("the server took too long to answer"),
        }
        return texts.get(self.reason, _("the server could not be reached"))


@dataclass(frozen=True)
class Fetched:
    """A fetched body, the address it finally came from and its declared type."""

    url: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Limits:
    """How much a fetch may take: bytes, seconds in all, seconds to connect; exempt networks."""

    max_bytes: int
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    allowed_networks: tuple[Network, ...] = ()


def parse_networks(values) -> tuple[Network, ...]:
    """Return the networks of a list of CIDR strings (a bare address is a network of one)."""
    return tuple(ipaddress.ip_network(str(value).strip(), strict=False) for value in values or ())


def limits(max_bytes: int) -> Limits:
    """Return the limits of a fetch of at most `max_bytes` under the app's settings."""
    if not has_app_context():
        return Limits(max_bytes=max_bytes)
    config = current_app.config
    return Limits(
        max_bytes=max_bytes,
        timeout=float(config.get("FETCH_TIMEOUT", DEFAULT_TIMEOUT)),
        connect_timeout=float(config.get("FETCH_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)),
        allowed_networks=parse_networks(config.get("FETCH_ALLOWED_NETWORKS")),
    )


# --- Which addresses may be reached -------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address a 6to4, NAT64 or Teredo address leads to, if it is one."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _is_public(ip: Address) -> bool:
    """Return whether an address is ordinary public unicast (the stdlib's flags, all of them)."""
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def is_refused(ip: Address, allowed: tuple[Network, ...] = ()) -> bool:
    """Return whether a fetch must not connect to `ip` (see the module doc)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket.
            ip = ip.ipv4_mapped
        else:
            ip = ipaddress.IPv6Address(ip.compressed.split("%", 1)[0])
    if any(ip.version == net.version and ip in net for net in allowed):
        return False
    if not _is_public(ip):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in LOCAL_NAT64:
            return True
        inner = _embedded_ipv4(ip)
        if inner is not None and not _is_public(inner):
            return True
    return False


def _resolve(host: str, port: int, deadline: float) -> list[Address]:
    """Return every address `host` resolves to, within the deadline (a slow resolver waits)."""
    found: dict = {}

    def lookup():
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            found["error"] = error

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    if worker.is_alive():
        raise TimeoutError("name resolution")
    if "error" in found:
        raise found["error"]
    addresses = []
    for family, _type, _proto, _name, sockaddr in found["infos"]:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(ipaddress.ip_address(sockaddr[0].split("%", 1)[0]))
    return list(dict.fromkeys(addresses))


# --- One request --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A checked address: what to connect to and what to say to it."""

    scheme: str
    host: str  # IDNA ASCII, no brackets
    port: int
    path: str  # path and query, percent-quoted

    @property
    def host_header(self) -> str:
        """Return the Host header: the name, bracketed if IPv6, with a port if not default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _parse(url: str) -> _Target:
    """Return the parts of an http(s) address, or refuse it."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise FetchRefused("url", str(url)[:MAX_URL_LENGTH])
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise FetchRefused("url", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused("url", url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused("scheme", url)
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchRefused("url", url)
    try:
        host = parts.hostname.encode("idna").decode("ascii").rstrip(".")
    except UnicodeError:
        raise FetchRefused("url", url) from None
    if not host:
        raise FetchRefused("url", url)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _checked_address(target: _Target, url: str, allowed, deadline: float) -> Address:
    """Resolve the target's host once and return the address to connect to, or refuse."""
    try:
        addresses = _resolve(target.host, target.port, deadline)
    except TimeoutError:
        raise FetchRefused("timeout", url) from None
    except (OSError, UnicodeError, ValueError):
        raise FetchRefused("network", url) from None
    if not addresses:
        raise FetchRefused("network", url)
    # A name with one refused address is refused whole: which one a client picks is chance.
    if any(is_refused(ip, allowed) for ip in addresses):
        raise FetchRefused("address", url)
    return addresses[0]


def _exchange(target: _Target, ip: Address, url: str, accept: str, lim: Limits, deadline: float):
    """Send one GET to `ip` and return (status, headers, body); the body is None on redirects."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchRefused("timeout", url)
    options = {"host": str(ip), "port": target.port, "timeout": min(lim.connect_timeout, remaining)}
    if target.scheme == "https":
        # Connect to the checked address, but verify the certificate for (and send SNI with)
        # the name the writer typed.
        options.update(
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED"
        )
        connection = HTTPSConnection(**options)
    else:
        connection = HTTPConnection(**options)
    expired = threading.Event()

    def stop():
        # Past the deadline: end the exchange, whatever the socket is waiting for.
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(remaining, stop)
    watchdog.daemon = True
    watchdog.start()
    failure = None
    try:
        return _talk(connection, target, accept, lim.max_bytes, url, deadline)
    except (OSError, HTTPError, ValueError) as error:
        failure = "timeout" if expired.is_set() or isinstance(error, TimeoutError) else "network"
    finally:
        watchdog.cancel()
        connection.close()
    # Raised outside the handler: an exception chained to the socket error would keep the
    # half-read response (and its socket) alive until the garbage collector finds the cycle.
    raise FetchRefused(failure, url)


def _talk(connection, target: _Target, accept: str, max_bytes: int, url: str, deadline: float):
    """Connect, send the GET and read the answer (see `_exchange`)."""
    connection.connect()
    connection.timeout = max(deadline - time.monotonic(), 0.001)
    connection.request(
        "GET",
        target.path,
        headers={
            "Host": target.host_header,
            "User-Agent": "cms-fetch/1.0",
            "Accept": accept,
            # No compressed bodies: the size cap counts the bytes we keep.
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
        preload_content=False,
        decode_content=False,
    )
    response = connection.getresponse()
    try:
        if response.status in REDIRECT_STATUSES:
            return response.status, response.headers, None
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > max_bytes:
            raise FetchRefused("too_large", url)
        if response.status != 200:
            return response.status, response.headers, b""
        body = bytearray()
        while chunk := response.read(CHUNK_BYTES):
            body += chunk
            if len(body) > max_bytes:
                raise FetchRefused("too_large", url)
        return response.status, response.headers, bytes(body)
    finally:
        response.release_conn()
        response.close()


def fetch(url: str, lim: Limits, accept: str = "*/*") -> Fetched:
    """GET `url` under the guard described in the module doc; raise FetchRefused when refused.

    `lim` usually comes from `limits(max_bytes)`. Only a 200 answer counts; any other status
    is refused with reason "status".
    """
    deadline = time.monotonic() + lim.timeout
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = _parse(current)
            ip = _checked_address(target, current, lim.allowed_networks, deadline)
        except FetchRefused as refused:
            if hop:
                # The first address was fine; where it sent us was not.
                raise FetchRefused("redirects", url) from refused
            raise
        status, headers, body = _exchange(target, ip, current, accept, lim, deadline)
        if body is None:
            location = headers.get("Location", "")
            if not location:
                raise FetchRefused("status", url, status=status)
            current = urljoin(current, location.strip())
            continue
        if status != 200:
            raise FetchRefused("status", url, status=status)
        content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        return Fetched(url=current, content_type=content_type, body=body)
    raise FetchRefused("redirects", url)
