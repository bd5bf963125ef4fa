"""Clear errors for invalid values: the ground floor every module checks its inputs with."""

from __future__ import annotations

import difflib
import numbers

import numpy as np


def require(ok: bool, field: str, value, allowed: str) -> None:
    """Raise a ValueError naming the field, the value and what is allowed."""
    if not ok:
        raise ValueError(f"{field}={value!r} is invalid: {allowed}")


def one_of(name: str, allowed, synonyms: dict[str, str] | None = None) -> str:
    """"one of A, B, ..." for an error message, with what `name` probably meant: its entry in
    `synonyms` (e.g. density -> feature_probability) or the closest allowed names."""
    text = f"one of {', '.join(allowed)}"
    hint = (synonyms or {}).get(name) or (synonyms or {}).get(str(name).lower())
    close = difflib.get_close_matches(str(name), list(allowed), n=2, cutoff=0.6)
    if hint:
        return f"{text} (did you mean {hint}?)"
    if close:
        return f"{text} (did you mean {' or '.join(map(repr, close))}?)"
    return text


def is_int(value) -> bool:
    """Whether `value` is an integer (a bool is not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class _Shown(str):
    """Text that prints without quotes in an error message."""

    __repr__ = str.__str__


def show(arr):
    """A short printable form of a possibly large array, for error messages."""
    arr = np.asarray(arr)
    if arr.size == 1:
        return arr.item()
    return _Shown(np.array2string(arr, threshold=8, precision=4, separator=", "))
