"""Request and response bodies of an endpoint: JSON (and CSV), and the response envelope.

``predict`` receives the decoded body: any JSON value for ``application/json``; for
``text/csv``, a list of row objects (``{"column": value}``, numbers parsed), the same shape
as the JSON ``[{...}, ...]`` a client would send. What it returns is made JSON-able
(numpy arrays and scalars, pandas frames and series are converted). The response is the
envelope ``{"service", "ref", "commit", "result"}``, or with ``Accept: text/csv`` and a
tabular result (rows of objects, or a list of scalars), CSV; either way the
``X-Pipes-Commit`` header names the commit that answered.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ...errors import InvalidArgument

COMMIT_HEADER = "X-Pipes-Commit"
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
FORM_TYPE = "application/x-www-form-urlencoded"


def decode_request(body: bytes, content_type: str | None) -> Any:
    """The value ``predict`` gets for a request body (``InvalidArgument`` when malformed)."""
    ctype = (content_type or JSON_TYPE).split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("the request body is not UTF-8 text") from None
    if ctype in (CSV_TYPE, "application/csv"):
        return _read_csv(text)
    # curl -d sends a form content type: its body is read as JSON too.
    if ctype in (JSON_TYPE, "text/json", "text/plain", FORM_TYPE) or ctype.endswith("+json"):
        if not text.strip():
            raise InvalidArgument("the request body is empty: send JSON (or CSV)")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None
    raise InvalidArgument(
        f"unsupported Content-Type {ctype!r}: send application/json or text/csv",
        content_type=ctype,
    )


def _number(cell: str) -> Any:
    if cell == "":
        return None
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        value = float(cell)
    except ValueError:
        return cell
    return value if math.isfinite(value) else cell


def _read_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidArgument("the CSV body is empty: send a header row and data rows") from None
    rows = []
    for n, row in enumerate(reader, 2):
        if not row:
            continue
        if len(row) != len(header):
            raise InvalidArgument(
                f"CSV line {n} has {len(row)} fields, the header {len(header)}", line=n
            )
        rows.append({h: _number(c) for h, c in zip(header, row, strict=True)})
    return rows


def plain(value: Any) -> Any:
    """``value`` with numpy / pandas / dates made JSON-able (the ``default`` of json.dumps)."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: its rows
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):  # numpy arrays and scalars, pandas Series / Index
        return value.tolist()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        raise TypeError("predict returned bytes: return text or JSON-able values")
    raise TypeError(f"predict returned a {type(value).__name__}, which is not JSON-able")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes: numpy, pandas and dates converted; NaN and infinities (which JSON
    lacks) written as ``null``."""
    return json.dumps(_finite(value), default=lambda v: _finite(plain(v))).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def wants_csv(accept: str | None) -> bool:
    """Whether the client asked for CSV first (``Accept: text/csv``)."""
    if not accept:
        return False
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first in (CSV_TYPE, "application/csv")


def to_csv(result: Any) -> bytes | None:
    """CSV of a tabular result (rows of objects, or a list of scalars); ``None`` otherwise."""
    rows = json.loads(dumps(result))
    if not isinstance(rows, list):
        return None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if rows and all(isinstance(r, Mapping) for r in rows):
        header = list(dict.fromkeys(k for r in rows for k in r))
        w.writerow(header)
        w.writerows([_cell(r.get(h)) for h in header] for r in rows)
    elif all(not isinstance(r, list | dict) for r in rows):
        w.writerow(["result"])
        w.writerows([_cell(r)] for r in rows)
    else:
        return None
    return buf.getvalue().encode()


def _cell(value: Any) -> Any:
    return "" if value is None else value
