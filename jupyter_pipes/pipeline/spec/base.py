"""What every spec model shares: strict, frozen, closed models and protojson's number rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from ...errors import InvalidArgument

__all__ = ["Int64", "SpecModel", "check_with", "fail"]

_INT = re.compile(r"-?[0-9]{1,19}")


def _quoted_int(value: Any) -> Any:
    """protojson takes a 64-bit integer as a number or a string of digits (``"1"``)."""
    if isinstance(value, str) and _INT.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # ``2.0`` or ``1e23``: an integer (the bounds then apply)
    return value


Int64 = Annotated[int, BeforeValidator(_quoted_int)]
"""An int that may be written as protojson writes 64-bit ints: ``1`` or ``"1"``."""


class SpecModel(BaseModel):
    """Base of the spec models: unknown fields are errors, types strict, values frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def fail(message: str, rel: str = "") -> PydanticCustomError:
    """An error at ``rel`` (a dotted path) below the location of the validator raising it."""
    return PydanticCustomError("pipes", "{message}", {"message": message, "rel": rel})


def check_with(check: Callable[[str], object], value: str) -> str:
    """Run a store name check, turning its ``InvalidArgument`` into a field error."""
    try:
        check(value)
    except InvalidArgument as exc:
        raise ValueError(exc.message) from None
    return value
