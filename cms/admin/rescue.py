"""Never lose typing when the session ends: keep a refused save, give it back after login.

A post or page form sent without a valid login fails in one of two places: CSRFProtect
refuses it when the session cookie is gone (cms/errors.py), or the dashboard's access check
refuses it when the session no longer names a user (ProtectedMixin.inaccessible_callback).
Both call rescue_unsent_form(): the fields are stored (cms/services/rescue.py), the browser
gets the token in an HttpOnly cookie, and the login page is asked to come back to the form
with ?rescued=1. There RescueMixin.apply_rescued() fills the form with the stored text, once.

Only the browser holding the cookie gets the text back, only into the same post's (or the
same kind of create) form, and only for someone allowed to open that form. A stash is made
only from a same-origin request, so another site cannot plant text in someone's form.
"""

import re
from urllib.parse import urlsplit

from flask import after_this_request, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_security import current_user, url_for_security
from limits import parse_many
from werkzeug.datastructures import MultiDict

from cms.extensions import limiter
from cms.limits import client_ip
from cms.services import rescue
from cms.services.return_urls import safe_return_path
from cms.services.submissions import TOKEN as SUBMISSION_TOKEN

# The forms whose refused saves are kept.
RESCUE_ENDPOINTS = frozenset(
    {"posts.edit_view", "posts.create_view", "pages.edit_view", "pages.create_view"}
)
COOKIE_NAME = "cms_rescue"
COOKIE_PATH = "/admin"
# The cookie holds the tokens of this browser's newest stashes (two tabs may both be refused).
COOKIE_TOKENS = 5
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
ROW_ID = re.compile(r"^[1-9][0-9]{0,8}$")


def fill_form(form, data: dict[str, list[str]], skip: str) -> MultiDict:
    """Fill `form` with kept fields ({name: [values]}) as if they were posted; return them.

    Only the post form's fields that are kept (rescue.FIELDS) are filled, never `skip`.
    """
    formdata = MultiDict([(name, value) for name, values in data.items() for value in values])
    for field in form:
        if field.name not in rescue.FIELDS or field.name == skip:
            continue
        # A browser leaves out a multiple select with nothing chosen: that means none.
        if field.name in formdata or field.name in rescue.MULTI_FIELDS:
            field.process(formdata, data=field.data)
    return formdata


def same_origin() -> bool:
    """Return whether the browser says the request comes from one of this site's pages.

    Sec-Fetch-Site when sent, else the Origin header; a request naming neither is not
    trusted (browsers send Origin with every form POST).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.host.lower()


def within_rate_limit() -> bool:
    """Spend one stash of this client IP's allowance; False when it is used up."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True) or not (limiter.enabled and limiter.initialized):
        return True
    try:
        items = parse_many(config["RATELIMIT_RESCUE"])
        return all(limiter.limiter.hit(item, "cms-rescue", client_ip()) for item in items)
    except Exception:  # the counter store is down: the size and count caps still apply
        current_app.logger.warning("rescue rate limit not checked", exc_info=True)
        return True


def form_address(post_id: int | None) -> str:
    """Return the address of the refused form with ?rescued=1 (and its return address)."""
    args = {"rescued": "1"}
    if post_id is not None:
        args["id"] = str(post_id)
    # The same rule as every return address of the dashboard (base.return_url_target).
    back = safe_return_path(request.args.get("url"), root=url_for("admin.index"))
    if back is not None:
        args["url"] = back
    return url_for(request.endpoint, **args)


def rescue_unsent_form():
    """Keep a post or page form posted without a login and send its writer to log in.

    Returns the redirect to the login page (with the cookie set), or None when this request
    is not such a save (then the caller answers as before): not a POST to one of the four
    forms, a logged-in user, not same-origin, over the rate limit, or nothing to keep.
    """
    if request.method != "POST" or request.endpoint not in RESCUE_ENDPOINTS:
        return None
    if current_user.is_authenticated or not same_origin():
        return None
    post_id = None
    if request.endpoint.endswith(".edit_view"):
        raw = request.args.get("id", "")
        if not ROW_ID.match(raw):
            return None
        post_id = int(raw)
    if not within_rate_limit():
        return None
    token = rescue.stash(request.form, request.endpoint, post_id)
    if token is None:
        return None
    flash(_("Your session ended. Log in again and your unsaved text will be back in the form."))
    response = redirect(url_for_security("login", next=form_address(post_id)), 303)
    keep_tokens(response, [*cookie_tokens(), token][-COOKIE_TOKENS:])
    return response


def cookie_tokens() -> list[str]:
    """Return the stash tokens in this browser's rescue cookie, oldest first."""
    raw = request.cookies.get(COOKIE_NAME, "")
    return [token for token in raw.split(".") if TOKEN_PATTERN.match(token)][-COOKIE_TOKENS:]


def keep_tokens(response, tokens: list[str]):
    """Set the rescue cookie to these tokens, or remove it when there are none."""
    options = {"path": COOKIE_PATH, "secure": request.is_secure, "httponly": True}
    if tokens:
        max_age = int(rescue.max_age().total_seconds())
        response.set_cookie(
            COOKIE_NAME, ".".join(tokens), max_age=max_age, samesite="Lax", **options
        )
    else:
        response.delete_cookie(COOKIE_NAME, samesite="Lax", **options)
    return response


class RescueMixin:
    """Give a rescued save back to its writer's post or page form (see rescue_unsent_form)."""

    def apply_rescued(self, form, post):
        """Fill `form` with the text this browser sent when its session had ended; return it.

        Acts only on a GET with ?rescued=1 whose cookie names a stash made for this post
        (`post` None: a create form of this view's kind). The stashed version is kept, so a
        save over someone's newer version is still refused. The stash and cookie are used up.
        Call it after the view checked that this person may open the form (get_one).
        """
        if request.method != "GET" or request.args.get("rescued") != "1":
            return form
        tokens = cookie_tokens()
        if not tokens:
            return form
        kind = rescue.VIEW_KINDS.get(self.endpoint)
        post_id = post.id if post is not None else None
        data = None
        for token in reversed(tokens):
            data = rescue.take(token, post_id, kind)
            if data is not None:
                tokens.remove(token)
                break
        if data is None:
            flash(_("Your unsaved text could not be restored: it expired or was used."), "warning")
            return form
        formdata = fill_form(form, data, skip="submission")
        submission = formdata.get("submission", "")
        if "submission" in form and SUBMISSION_TOKEN.match(submission):
            # The one-time token of the form that was refused: one post, however often sent.
            form.submission.data = submission
        flash(_("Your unsaved text was restored. Review it and save."), "info")
        # The other tokens stay for the other forms they belong to.
        after_this_request(lambda response: keep_tokens(response, tokens))
        return form
