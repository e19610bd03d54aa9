"""SECURITY 12, the timing part: account pages take about as long for unknown addresses.

Run with production hashing costs (bcrypt 12 rounds, Flask-Security's token hashing), where
a missing dummy hash shows as a gap of one to two orders of magnitude. The bound is loose
(a factor of 2.5 between medians) so that load on the machine cannot make it flaky.
"""

import statistics
import time

import pytest

from tests.factories import make_user
from tests.helpers import Browser

# Measures time or lock waits: runs alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial

KNOWN, UNKNOWN = "known@example.com", "nobody@example.com"
ROUNDS = 3
FACTOR = 2.5


@pytest.fixture
def slow_browser(variant, ctx):
    """A Browser on an app with production hashing costs, and one confirmed and one new user."""
    app = variant(
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS={},
        # Flask-Security's own default (the suite hashes link tokens with fewer rounds).
        SECURITY_HASHING_SCHEMES=["sha256_crypt", "hex_md5"],
    )
    make_user(KNOWN)
    make_user("unconfirmed@example.com", confirmed=False)
    return Browser(app, app.test_client())


def median_time(browser, url: str, data: dict) -> float:
    """Return the median time to post `data` to the form on `url` (token fetched untimed)."""
    times = []
    for _ in range(ROUNDS):
        form = browser.form(url, match=url)
        fields = {**form["fields"], **data}
        started = time.perf_counter()
        response = browser.client.post(url, data=fields)
        times.append(time.perf_counter() - started)
        assert response.status_code < 500
    return statistics.median(times)


def assert_alike(first: float, second: float) -> None:
    """Fail when one time is more than FACTOR times the other."""
    assert max(first, second) / min(first, second) < FACTOR, (first, second)


def test_login_takes_as_long_for_unknown_accounts(slow_browser):
    data = {"password": "a wrong password, long enough"}
    known = median_time(slow_browser, "/account/login", {**data, "email": KNOWN})
    unknown = median_time(slow_browser, "/account/login", {**data, "email": UNKNOWN})
    assert_alike(known, unknown)


def test_reset_request_takes_as_long_for_unknown_accounts(slow_browser):
    known = median_time(slow_browser, "/account/reset", {"email": KNOWN})
    unknown = median_time(slow_browser, "/account/reset", {"email": UNKNOWN})
    assert_alike(known, unknown)


def test_confirmation_resend_takes_as_long_for_unknown_accounts(slow_browser):
    pending = median_time(slow_browser, "/account/confirm", {"email": "unconfirmed@example.com"})
    unknown = median_time(slow_browser, "/account/confirm", {"email": UNKNOWN})
    assert_alike(pending, unknown)


def test_registration_takes_as_long_for_existing_accounts(slow_browser):
    password = {"password": "a new long password", "password_confirm": "a new long password"}
    existing = median_time(slow_browser, "/account/register", {**password, "email": KNOWN})
    fresh = []
    for number in range(ROUNDS):
        data = {**password, "email": f"fresh{number}@example.com"}
        fresh.append(median_time_once(slow_browser, data))
    assert_alike(existing, statistics.median(fresh))


def median_time_once(browser, data: dict) -> float:
    """Return the time of one registration with new data."""
    form = browser.form("/account/register", match="/account/register")
    started = time.perf_counter()
    browser.client.post("/account/register", data={**form["fields"], **data})
    return time.perf_counter() - started
