"""Fingerprints of user code (registered model kinds and objectives) that training runs, so that
a result directory is reused only by the same code."""

from __future__ import annotations

import functools
import hashlib
import types
from typing import Any


def describe(obj: Any, depth: int = 0) -> str:
    """A description of a value that is the same in every process: a function by its
    module, name, bytecode, constants (nested code, e.g. lambdas, recursively) and closure
    values; a partial by its function and arguments; a wrapped function by what it wraps."""
    if depth > 8:
        return "..."
    if isinstance(obj, functools.partial):
        return (f"partial({describe(obj.func, depth + 1)}, "
                f"{[describe(a, depth + 1) for a in obj.args]}, "
                f"{sorted((k, describe(v, depth + 1)) for k, v in obj.keywords.items())})")
    if hasattr(obj, "__wrapped__"):
        return f"wraps({describe(obj.__wrapped__, depth + 1)})"
    if isinstance(obj, types.CodeType):
        consts = [describe(c, depth + 1) for c in obj.co_consts]
        return f"{obj.co_qualname}:{obj.co_code.hex()}:{consts}"
    code = getattr(obj, "__code__", None)
    if code is not None:
        cells = [describe(c.cell_contents, depth + 1) for c in (obj.__closure__ or ())
                 if c.cell_contents is not obj]
        return (f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}:"
                f"{describe(code, depth + 1)}:{cells}")
    if callable(obj):
        return f"{type(obj).__module__}.{type(obj).__qualname__}"
    return repr(obj) if isinstance(obj, (int, float, str, bytes, bool, type(None), tuple,
                                         frozenset)) else type(obj).__qualname__


def fingerprint(parts: dict[str, Any]) -> str:
    """sha256 (16 hex digits) of `describe` of each named part."""
    text = "|".join(f"{name}={describe(value)}" for name, value in parts.items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]
