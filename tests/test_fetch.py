"""The guarded fetcher: real requests to a real server on loopback, and hostile addresses."""

import ipaddress
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cms.services import fetch
from tests.remote import RemoteServer, png_bytes

LOOPBACK_ONLY = fetch.parse_networks(["127.0.0.1/32"])


def allowed(max_bytes=100_000, timeout=5.0, connect_timeout=2.0) -> fetch.Limits:
    """Return limits that exempt 127.0.0.1 (where the test server listens)."""
    return fetch.Limits(max_bytes, timeout, connect_timeout, LOOPBACK_ONLY)


def refused_reason(url: str, lim: fetch.Limits) -> str:
    """Return why fetching `url` was refused (the test fails if it was not)."""
    with pytest.raises(fetch.FetchRefused) as refused:
        fetch.fetch(url, lim)
    return refused.value.reason


@pytest.fixture
def remote():
    """A server on loopback standing in for another host."""
    with RemoteServer() as server:
        yield server


def test_fetches_from_an_allowed_server(remote):
    """A 200 answer comes back whole, with its type and the address it came from."""
    image = png_bytes()
    url = remote.route("/cat.png", body=image, content_type="image/png; charset=binary")
    got = fetch.fetch(url, allowed())
    assert got.body == image
    assert got.content_type == "image/png"
    assert got.url == url
    assert remote.requests == ["/cat.png"]


def test_loopback_server_is_refused_without_the_allow_setting(remote):
    """The very same server is out of reach when 127.0.0.1 is not exempt: nothing is sent."""
    url = remote.route("/cat.png", body=png_bytes(), content_type="image/png")
    assert refused_reason(url, fetch.Limits(100_000)) == "address"
    assert remote.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "169.254.169.254",
        "10.0.0.1",
        "10.255.1.2",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104  (an address to refuse, not one to bind)
        "[::]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[fe80::1]",
        "[fc00::1]",
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[64:ff9b:1::1]",  # local-use NAT64
        "[ff02::1]",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0177.0.0.1",  # octal
        "0x7f.0.0.1",  # hex
        "127.1",  # short form
        "017700000001",  # octal number
    ],
)
def test_private_and_local_addresses_are_refused(host):
    """Every spelling of a private, loopback, link-local or reserved address is refused."""
    for scheme in ("http", "https"):
        assert refused_reason(f"{scheme}://{host}/x.png", fetch.Limits(1000)) == "address"


def test_the_allow_setting_exempts_only_its_networks(remote):
    """127.0.0.1/32 opens 127.0.0.1, not 127.0.0.2, ::1 or the mapped form's neighbours."""
    lim = allowed()
    assert refused_reason(f"http://127.0.0.2:{remote.port}/", lim) == "address"
    assert refused_reason(f"http://[::1]:{remote.port}/", lim) == "address"
    assert refused_reason(f"http://10.0.0.1:{remote.port}/", lim) == "address"
    assert remote.requests == []


def test_public_addresses_pass_the_check():
    """Ordinary public addresses are not refused (the check is not a blanket ban)."""
    for text in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert not fetch.is_refused(ipaddress.ip_address(text))
    # 6to4 of a public address is public.
    assert not fetch.is_refused(ipaddress.ip_address("2002:5db8:d822::1"))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "//example.com/x.png",
        "/uploads/x.png",
    ],
)
def test_other_schemes_are_refused(url):
    """Only http and https are fetched."""
    assert refused_reason(url, fetch.Limits(1000)) in ("scheme", "url")


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@example.com/", "http://exa mple.com/", "http://example.com:99999/", "http://"],
)
def test_malformed_addresses_are_refused(url):
    """Credentials, spaces, impossible ports and missing hosts are refused before any lookup."""
    assert refused_reason(url, fetch.Limits(1000)) == "url"


def test_redirects_are_followed_and_checked(remote):
    """Up to three redirects are followed; each new address is checked like the first."""
    image = png_bytes()
    remote.route("/final.png", body=image, content_type="image/png")
    remote.redirect("/r3", "/final.png")
    remote.redirect("/r2", remote.url("/r3"), status=301)
    first = remote.redirect("/r1", "/r2", status=307)
    got = fetch.fetch(first, allowed())
    assert got.body == image
    assert got.url == remote.url("/final.png")


def test_four_redirects_are_too_many(remote):
    """The fourth redirect is refused."""
    remote.route("/end", body=b"x")
    for hop in range(4):
        remote.redirect(f"/hop{hop}", f"/hop{hop + 1}" if hop < 3 else "/end")
    assert refused_reason(remote.url("/hop0"), allowed()) == "redirects"
    assert "/end" not in remote.requests


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/secret",
        "http://127.0.0.2:{port}/secret",
        "http://[::ffff:10.0.0.1]/",
        "http://167772161:{port}/secret",  # 10.0.0.1
        "file:///etc/passwd",
    ],
)
def test_redirect_to_a_refused_address_is_refused(remote, target):
    """An allowed server cannot send the fetcher on to a refused address."""
    remote.route("/secret", body=b"the secret")
    url = remote.redirect("/go", target.format(port=remote.port))
    assert refused_reason(url, allowed()) == "redirects"
    assert remote.requests == ["/go"]


def test_body_over_the_cap_with_content_length(remote):
    """A declared length over the cap is refused before the body is read."""
    url = remote.route("/big", body=b"x" * 5000)
    assert refused_reason(url, allowed(max_bytes=4000)) == "too_large"


@pytest.mark.parametrize("how", ["no_length", "chunked"])
def test_body_over_the_cap_without_content_length(remote, how):
    """Without a length (close-delimited or chunked) reading stops past the cap."""
    url = remote.route("/big", body=b"x" * 300_000, **{how: True})
    assert refused_reason(url, allowed(max_bytes=100_000)) == "too_large"


def test_lying_content_length_cannot_pass_the_cap(remote):
    """A small declared length with a huge body: only the declared bytes are read, under the cap."""
    url = remote.route("/liar", body=b"y" * 200_000, headers={"Content-Length": "10"})
    got = fetch.fetch(url, allowed(max_bytes=1000))
    assert got.body == b"y" * 10


def test_body_at_the_cap_is_accepted(remote):
    """Exactly the cap is allowed (without a length too)."""
    url = remote.route("/exact", body=b"z" * 1000, no_length=True)
    assert fetch.fetch(url, allowed(max_bytes=1000)).body == b"z" * 1000


def test_slow_server_times_out(remote):
    """A server that does not answer within the total time is given up on."""
    url = remote.route("/slow", body=b"late", delay=3)
    started = time.monotonic()
    assert refused_reason(url, allowed(timeout=0.5)) == "timeout"
    assert time.monotonic() - started < 2


def test_trickling_server_times_out(remote):
    """A server that sends a byte now and then still ends at the total deadline."""
    url = remote.route("/trickle", body=b"t" * 100, trickle=1, delay=0.1)
    started = time.monotonic()
    assert refused_reason(url, allowed(timeout=1.0)) == "timeout"
    assert time.monotonic() - started < 2.5


def test_error_status_is_refused(remote):
    """A 404 or 500 is a refusal with the status kept for the message."""
    url = remote.route("/gone", status=404, body=b"no")
    with pytest.raises(fetch.FetchRefused) as refused:
        fetch.fetch(url, allowed())
    assert refused.value.reason == "status"
    assert refused.value.details["status"] == 404


def test_unreachable_server_is_a_network_failure(remote):
    """Nobody listening: a network failure, not a crash."""
    remote.httpd.server_close()
    assert refused_reason(remote.url("/x"), allowed(timeout=2)) in ("network", "timeout")


def test_unknown_host_is_a_network_failure():
    """A name that does not resolve (.invalid never does) is a network failure."""
    assert refused_reason("http://no-such-host.invalid/x.png", fetch.Limits(1000)) == "network"


def test_settings_feed_the_limits(app, monkeypatch):
    """FETCH_ALLOWED_NETWORKS, FETCH_TIMEOUT and FETCH_CONNECT_TIMEOUT come from the settings."""
    assert app.config["FETCH_ALLOWED_NETWORKS"] == []
    monkeypatch.setitem(app.config, "FETCH_ALLOWED_NETWORKS", ["127.0.0.1/32", "10.1.0.0/16"])
    monkeypatch.setitem(app.config, "FETCH_TIMEOUT", 4)
    with app.app_context():
        lim = fetch.limits(123)
    assert lim.max_bytes == 123
    assert lim.timeout == 4.0
    assert lim.allowed_networks == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.1.0.0/16"),
    )


def test_refusals_have_translated_messages(app):
    """Every reason reads as the end of a sentence for the writer."""
    with app.test_request_context():
        for reason in ("scheme", "url", "address", "redirects", "timeout", "network", "too_large"):
            assert fetch.FetchRefused(reason, "http://x/").message
        assert "404" in fetch.FetchRefused("status", "http://x/", status=404).message


def self_signed(folder) -> tuple[str, str]:
    """Write a self-signed certificate for localhost and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_https_keeps_certificate_checks_and_sni(remote, tmp_path):
    """https to the checked address still sends the name (SNI) and refuses a bad certificate."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    remote.httpd.socket = context.wrap_socket(remote.httpd.socket, server_side=True)
    remote.route("/x.png", body=png_bytes(), content_type="image/png")
    url = f"https://localhost:{remote.port}/x.png"
    assert refused_reason(url, allowed(timeout=3)) == "network"
    assert names == ["localhost"]
    assert remote.requests == []
