"""Keeping database passwords out of labels, logs and error messages.

Database URLs (the CRM database, the PostgreSQL publication) carry passwords. They reach Dagster only
as `EnvVar` references (see `definitions.py`), and every message that names a URL or repeats a
driver's error goes through these functions first. Both work on text, not on a parsed URL, so a URL
that no parser accepts (a `@` or `/` in an unencoded password, a bad port, a missing scheme) is
masked just as well: everything between the user name's `:` and the last `@` is the password.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"
_SECRET_HINTS = ("password", "passwd", "pwd", "secret", "token", "apikey", "api_key")
_SECRET_PARAM = re.compile(
    r"(?i)((?:^|[?&;\s])[^=&;\s]*(?:" + "|".join(_SECRET_HINTS) + r")[^=&;\s]*\s*=\s*)('[^']*'|[^&;\s]*)"
)


def _text(url: object) -> str:
    render = getattr(url, "render_as_string", None)  # a SQLAlchemy URL object
    return render(hide_password=False) if render else str(url)


def _split(text: str) -> tuple[str, str, str]:
    """(`scheme://` or '', userinfo or '', the rest) of a URL-like string; userinfo ends at the last `@`
    before the query (or anywhere, when the query itself holds an `@`: masking more is safe)."""
    scheme, sep, rest = text.partition("://")
    prefix = scheme + sep if sep else ""
    rest = rest if sep else text
    at = rest.rfind("@")
    if at < 0:
        return prefix, "", rest
    return prefix, rest[:at], rest[at:]


def url_password(url: object) -> str | None:
    """The password part of a URL's user info as written (percent-encoded or not), or None."""
    _, userinfo, _ = _split(_text(url))
    user, colon, password = userinfo.partition(":")
    return password if colon and password else None


def redact_url(url: object) -> str:
    """The URL with its password and password-like parameters masked, for labels, logs and errors."""
    prefix, userinfo, rest = _split(_text(url))
    if userinfo:
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else user
    return _SECRET_PARAM.sub(rf"\1{MASK}", prefix + userinfo + rest)


def secrets_of(url: object, *passwords: str | None) -> list[str]:
    """Every form in which the URL's secrets could appear in a message (longest first)."""
    text = _text(url)
    found = {text}
    for candidate in (url_password(text), *passwords, *(m.group(2).strip("'") for m in _SECRET_PARAM.finditer(text))):
        if candidate:
            found |= {candidate, unquote(candidate), quote(candidate, safe="")}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def scrub(message: str, url: object, *passwords: str | None) -> str:
    """`message` (e.g. a driver's error) with the URL and its passwords masked wherever they occur."""
    text = _text(url)
    message = message.replace(text, redact_url(text)) if text else message
    for secret in secrets_of(text, *passwords):
        message = message.replace(secret, MASK)
    return message
