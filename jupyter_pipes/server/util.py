"""Small helpers of the server: URL redaction, notebook paths, byte ranges, safe content types."""

from __future__ import annotations

import mimetypes
import re
import urllib.parse
from pathlib import Path

from jupyter_core.paths import is_hidden

from ..errors import InvalidArgument

# Types a browser would run as a document in the server's origin: never served inline.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/pdf",
    }
)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def redact_url(url: str | None) -> str | None:
    """``url`` without a password or query string (for logs and the settings route)."""
    if not url or "://" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def content_type(path: str) -> tuple[str, bool]:
    """The Content-Type to serve a stored file with, and whether it must be an attachment."""
    ctype, encoding = mimetypes.guess_type(path, strict=False)
    if encoding is not None or ctype is None:  # .gz and friends: the bytes as they are
        return "application/octet-stream", False
    if ctype in ACTIVE_TYPES:
        return "application/octet-stream", True
    if ctype.startswith("text/"):
        ctype += "; charset=utf-8"
    return ctype, False


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``[start, end)`` of a single ``Range: bytes=...`` header, or None to send it all.

    Raises
    ------
    ValueError
        When the range cannot be satisfied (the caller answers 416).
    """
    if not header:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None:  # several ranges or another unit: RFC 9110 lets us send the whole file
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        start, end = max(size - int(last), 0), size
    else:
        start = int(first)
        end = size if not last else min(int(last) + 1, size)
    if start >= size or start >= end:
        raise ValueError(f"range {header!r} is outside a {size}-byte file")
    return start, end


def resolve_notebook(
    notebook: str, root_dir: str, *, allow_hidden: bool, field: str = "transform.notebook"
) -> str:
    """Check that a spec's notebook path lies inside the server's ``root_dir``.

    Relative paths are relative to ``root_dir``; an absolute path is accepted only inside it.
    Symbolic links are resolved first, so a link cannot point outside either.

    Returns
    -------
    str
        The path as given (the Client resolves it against ``root_dir``).

    Raises
    ------
    InvalidArgument
        With ``field`` (the spec field, ``transform.notebook`` by default) for a path outside
        ``root_dir`` or a hidden one.
    """
    root = Path(root_dir).resolve()
    target = (root / notebook).resolve()
    if not target.is_relative_to(root):
        raise InvalidArgument(
            f"{field}: {notebook!r} is outside the server's root directory; "
            "give a path relative to it",
            field=field,
        )
    if not allow_hidden and is_hidden(str(target), str(root)):
        raise InvalidArgument(
            f"{field}: {notebook!r} is a hidden file",
            field=field,
        )
    return notebook
