"""Durations, quantities and the bounds every number of a spec must respect.

Numbers are checked when a spec is read, not when a job runs: ``datum_tries: 1e23``, ``cpu: .inf``
or a timeout of 10²⁰ hours are refused at once, naming the field. The limits are generous for
any real pipeline and small enough that nothing downstream overflows or waits forever.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "LIMITS", "check_env_value", "parse_cpu", "parse_duration", "parse_quantity",
]  # fmt: skip

LIMITS = {
    "spec_bytes": 1 << 20,  # text of one spec file (all its documents)
    "depth": 64,  # nesting of mappings and sequences
    "nodes": 100_000,  # values in one file, YAML aliases expanded
    "datum_tries": 100,
    "duration_s": 366 * 86400,  # datum_timeout, job_timeout: at most a year
    "cpu": 4096.0,  # cores
    "bytes": 1 << 60,  # memory and disk: 1 EiB
    "gpus": 1024,
    "parallelism": 10_000,
    "env_value_bytes": 128 * 1024,  # Linux's limit for one environment string
    "metrics": 100,  # metrics files of one pipeline
}
"""The bounds a spec is checked against (see docs/pipeline-spec.md, "Limits")."""

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION = re.compile(_NUMBER + r"(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
# Kubernetes quantities, plus the "MB"/"GiB" spellings people write (Pachyderm's own churn
# example says "256MB"): a decimal or binary SI suffix, an exponent, or milli ("500m").
_QUANTITY = re.compile(_NUMBER + r"(?:[eE]([0-9]+)|([KMGTPE]i|[kKMGTPE]|m)(?:B)?|(B))?")
_FACTOR: dict[str, float] = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_FACTOR.update({"E": 1e18, "m": 1e-3})
_FACTOR.update({s + "i": 1024.0 ** (i + 1) for i, s in enumerate("KMGTPE")})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline are allowed


def parse_duration(text: str) -> float:
    """Seconds in a Go/Pachyderm duration such as ``'30s'``, ``'1.5h'`` or ``'1h30m'``.

    Parameters
    ----------
    text : str
        Runs of number + unit (``ns``, ``us``, ``ms``, ``s``, ``m``, ``h``).

    Returns
    -------
    float
        The duration in seconds; raises ValueError unless it is positive and at most
        ``LIMITS["duration_s"]`` (a year).
    """
    pos, total = 0, 0.0
    while (m := _DURATION.match(text, pos)) is not None:
        total, pos = total + float(m[1]) * _SECONDS[m[2]], m.end()
    if pos < len(text) or not total > 0:
        raise ValueError(f"invalid duration {text!r}: use e.g. '30s', '5m' or '1h30m'")
    if total > LIMITS["duration_s"]:
        raise ValueError(f"duration {text!r} is longer than a year (8784h): give at most that")
    return total


def _quantity(text: str) -> float:
    m = _QUANTITY.fullmatch(text)
    if m is None:
        raise ValueError(f"invalid quantity {text!r}: use e.g. '512Mi', '1G' or '1.5Gi'")
    exponent = int(m[2]) if m[2] else 0
    if exponent > 30:
        raise ValueError(f"quantity {text!r} is too large")
    return float(m[1]) * (10.0**exponent if m[2] else _FACTOR.get(m[3] or "", 1.0))


def parse_quantity(text: str) -> int:
    """Bytes in a Kubernetes quantity such as ``'1G'``, ``'512Mi'``, ``'1.5Gi'`` or ``'256MB'``.

    Parameters
    ----------
    text : str
        A number with an optional suffix: ``k M G T P E`` (powers of 1000), ``Ki Mi Gi Ti Pi
        Ei`` (powers of 1024), ``eN``, ``m`` (thousandths); a trailing ``B`` is allowed.

    Returns
    -------
    int
        The quantity in bytes (rounded up); raises ValueError unless it is positive and at
        most ``LIMITS["bytes"]`` (1 EiB).
    """
    value = _quantity(text)
    if not value > 0:
        raise ValueError(f"invalid quantity {text!r}: it must be positive")
    if value > LIMITS["bytes"]:
        raise ValueError(f"quantity {text!r} is larger than 1Ei")
    return max(1, math.ceil(value))


def parse_cpu(value: float | int | str) -> float:
    """Cores in a ``cpu`` value: a number (``0.5``) or a Kubernetes quantity (``'500m'``).

    Raises ValueError unless the value is finite, positive and at most ``LIMITS["cpu"]``.
    """
    cores = _quantity(value) if isinstance(value, str) else float(value)
    if not (math.isfinite(cores) and cores > 0):
        raise ValueError(f"invalid cpu {value!r}: give a positive number of cores, e.g. 0.5")
    if cores > LIMITS["cpu"]:
        raise ValueError(f"cpu {value!r} is more than {LIMITS['cpu']:g} cores")
    return cores


def check_env_value(value: str) -> str:
    """An environment value without NUL or control characters (tab and newline allowed)."""
    if (m := _CONTROL.search(value)) is not None:
        raise ValueError(
            f"control character {m[0]!r} at offset {m.start()}: environment values may not "
            "hold NUL or control characters"
        )
    if len(value.encode("utf-8", "surrogatepass")) > LIMITS["env_value_bytes"]:
        raise ValueError("longer than 128 KiB, the limit of one environment string")
    return value
