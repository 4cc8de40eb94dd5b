"""Misuse errors shared by several modules, with the fix in the message."""

from __future__ import annotations

__all__ = ["cyclic", "unreadable", "unsupported_leaf"]


def cyclic(path: str) -> ValueError:
    where = path or "the top level"
    return ValueError(f"the structure refers to itself at {where}; nearly cannot compare cycles")


def unsupported_leaf(path: str, type_name: str, why: str) -> TypeError:
    where = path or "the top level"
    return TypeError(
        f"cannot compare the {type_name} at {where}: {why}. Convert it to a NumPy array, "
        f"a number or a container of those first."
    )


def unreadable(path: str, type_name: str, why: str) -> TypeError:
    return TypeError(f"cannot compare the {type_name} at {path or 'the top level'}: {why}")
