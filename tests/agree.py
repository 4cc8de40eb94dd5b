"""``agree(actual, expected, **options)``: compare() and assert_close() give one verdict.

It returns the Comparison, after checking that ``assert_close`` passes exactly when it is ok and
otherwise raises ``NotClose`` whose message is the Comparison's report.
"""

from __future__ import annotations

from typing import Any

import pytest

import nearly

__all__ = ["agree"]


def agree(actual: Any, expected: Any, **options: Any) -> nearly.Comparison:
    c = nearly.compare(actual, expected, **options)
    if c.ok:
        nearly.assert_close(actual, expected, **options)
    else:
        with pytest.raises(nearly.NotClose) as info:
            nearly.assert_close(actual, expected, **options)
        assert str(info.value) == str(c)
    return c
