"""Clear errors for invalid values: the ground floor every module checks its inputs with."""

from __future__ import annotations

import numbers

import numpy as np


def require(ok: bool, field: str, value, allowed: str) -> None:
    """Raise a ValueError naming the field, the value and what is allowed."""
    if not ok:
        raise ValueError(f"{field}={value!r} is invalid: {allowed}")


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
