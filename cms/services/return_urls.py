"""Return addresses ("go back to ..."): only a plain path on this site, under a given root.

Pages take the address to return to from a request (`?url=`, a hidden form field). Browsers
and Werkzeug read such a value generously: `http:evil.example`, `//evil.example`,
`/\\evil.example`, a tab inside `//`, or `/%2F/evil.example` (decoded again by the next
request) all lead to another host. So a return address is accepted only when it is written
the way our own `url_for` writes one: printable ASCII without spaces or backslashes, a path
of a single leading `/`, no dot segments, under `root`, also after percent-decoding.
"""

from urllib.parse import unquote, urlsplit

# Longer return addresses are refused (ours are list addresses with a few filters).
MAX_RETURN_URL_LENGTH = 2048
# Percent-decoding rounds checked; an address still changing after them is refused.
DECODE_ROUNDS = 3


def _decoded_path(path: str) -> str | None:
    """Return the path percent-decoded until it no longer changes; None if it keeps changing."""
    for _round in range(DECODE_ROUNDS):
        decoded = unquote(path)
        if decoded == path:
            return path
        path = decoded
    return None


def _plain_path(path: str) -> bool:
    """Return whether a (decoded) path starts with one slash and has no tricks in it."""
    if not path.startswith("/") or path.startswith("//"):
        return False
    if "\\" in path or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return False
    return not any(segment in (".", "..") for segment in path.split("/"))


def _under(path: str, root: str) -> bool:
    """Return whether a path is `root` itself or lies below it."""
    root = "/" + root.strip("/")
    return root == "/" or path == root or path.startswith(root + "/")


def safe_return_path(target, root: str = "/") -> str | None:
    """Return `target` if it is a safe return address under `root`; None otherwise.

    Safe: printable ASCII with no space or backslash, no scheme and no host, a path starting
    with exactly one `/`, no `.`/`..` segments, inside `root` (such as "/admin"), and all of
    that still true once the path is percent-decoded. The query string and fragment are kept.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_RETURN_URL_LENGTH:
        return None
    if any(not "!" <= ch <= "~" for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    # The path as written: urlsplit reads "///host" as an empty host and the path "/host".
    path = target.split("?", 1)[0].split("#", 1)[0]
    if parts.scheme or parts.netloc or not _plain_path(path):
        return None
    decoded = _decoded_path(path)
    if decoded is None or not _plain_path(decoded) or not _under(decoded, root):
        return None
    return target
