"""Server URLs in policy specs: ``MODEL@URL`` split at the first ``@``, the URL parsed as a URL and checked.

A request only ever goes to a server the user named: a URL without a scheme, with another scheme than http(s),
with credentials (``user:pw@``), a query, a fragment, a bad port or no host is an error, never a reason to use
another server. OpenAI's own API is used only when named, as :data:`OPENAI_API_URL`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agentgym.error import SettingError

#: OpenAI's API root: the spelling that sends requests (and the key) to OpenAI.
OPENAI_API_URL = "https://api.openai.com/v1"


def split_model_url(spec: str, argument: str) -> tuple[str, str | None]:
    """Split a spec's ``MODEL@URL`` at its first ``@`` (model names cannot hold one); ``MODEL`` alone has no URL.

    Args:
        spec: the whole ``--policy`` value, for messages.
        argument: what follows the backend name (``MODEL@URL``).

    Raises:
        SettingError: for a URL in place of the model, an empty URL, or a URL that :func:`api_root` refuses.
    """
    model, at, url = argument.partition("@")
    if "://" in model:
        raise SettingError(f"policy {redacted(spec)!r} gives a URL where the model name goes; expected MODEL@URL")
    if not at:
        return model, None
    named = spec[: len(spec) - len(url)]
    if not url:
        raise SettingError(f"policy {spec!r}: nothing after '@'; expected MODEL@http://HOST:PORT")
    if "://" not in url:
        raise SettingError(f"policy {spec!r}: the server URL has no scheme; write {named}http://{url} (or https://)")
    try:
        return model, api_root(url)
    except SettingError as e:
        raise SettingError(f"policy {named + redacted(url)!r}: {e}") from None


def api_root(url: str) -> str:
    """Return ``url`` checked and normalized as an API root ending in ``/v1`` (``HTTP://h:8000`` -> ``http://h:8000/v1``).

    Raises:
        SettingError: if ``url`` has no scheme, a scheme other than http(s), credentials, a query or fragment,
            no host, a bad port, spaces or control characters.
    """
    shown = redacted(url)
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise SettingError(f"server URL {shown!r} is empty or holds spaces or control characters")
    if "://" not in url:
        raise SettingError(f"server URL {shown!r} has no scheme: write http://{shown} (or https://)")
    try:
        parts = urlsplit(url)
    except ValueError as e:  # e.g. an unclosed IPv6 bracket
        raise SettingError(f"server URL {shown!r} is not a URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise SettingError(f"server URL {shown!r}: the scheme must be http or https, not {parts.scheme!r}")
    if "@" in parts.netloc:
        raise SettingError(
            f"server URL {shown!r} holds credentials: they are not sent; put the API key in OPENAI_API_KEY "
            "(or the variable named by api_key_env)"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise SettingError(f"server URL {shown!r} has a query or fragment; give the API root, e.g. http://HOST:PORT/v1")
    try:
        port = parts.port
    except ValueError:
        raise SettingError(f"server URL {shown!r} has a bad port (expected a number from 1 to 65535)") from None
    if not parts.hostname or port == 0:
        raise SettingError(f"server URL {shown!r} names no host (or port 0); expected e.g. http://127.0.0.1:8000")
    root = f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def redacted(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, for messages."""
    return re.sub(r"(://)[^/?#]*@", r"\1***@", url)
