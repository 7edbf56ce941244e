"""Keyset ("cursor") pagination for the ticket list.

A page is "the next N rows after this row in this order", found with a WHERE on the sort
columns instead of OFFSET, and no COUNT(*) is run. The cost of a page is the same on page 1
and page 20,000, and rows added meanwhile do not shift what the next page shows. The price:
no "page 7 of 9 412" and no jumping to an arbitrary page, which agents working a queue do not
need (they filter or search instead).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class Key:
    """One sort column: its name (field or alias), direction and value type."""

    name: str
    descending: bool
    kind: str = "int"  # "int" or "datetime"


@dataclass
class KeysetPage:
    items: list[Any]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


class InvalidCursor(ValueError):
    pass


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(keys):
            raise InvalidCursor(cursor)
        return [
            dt.datetime.fromisoformat(value) if key.kind == "datetime" else int(value)
            for key, value in zip(keys, plain, strict=True)
        ]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidCursor(cursor) from exc


def _beyond(keys: Sequence[Key], values: Sequence[Any], *, forward: bool) -> Q:
    """Rows strictly after `values` in the order of `keys` (or strictly before, going back):
    (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..."""
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        later = key.descending != forward  # descending going forward means smaller values
        lookup = "gt" if later else "lt"
        condition |= equal & Q(**{f"{key.name}__{lookup}": value})
        equal &= Q(**{key.name: value})
    # The same bound on the first column alone, which the OR above hides from the planner:
    # with it an index on (first column, id) starts at the cursor instead of scanning every
    # row before it, so page 2,000 costs what page 1 does.
    first, first_value = keys[0], values[0]
    bound = "gte" if first.descending != forward else "lte"
    return Q(**{f"{first.name}__{bound}": first_value}) & condition


def keyset_page(
    queryset: QuerySet,
    *,
    keys: Sequence[Key],
    size: int,
    after: str = "",
    before: str = "",
    value_of: Callable[[Any, str], Any] = getattr,
) -> KeysetPage:
    """One page of `queryset` in the order of `keys` (the last key must be unique, e.g. id).
    `after` / `before` are cursors from an earlier page; an unreadable cursor means page 1."""
    forward_order = [f"-{k.name}" if k.descending else k.name for k in keys]
    backward_order = [k.name if k.descending else f"-{k.name}" for k in keys]
    going_back = False
    try:
        if before:
            queryset = queryset.filter(_beyond(keys, _decode(before, keys), forward=False)).order_by(*backward_order)
            going_back = True
        elif after:
            queryset = queryset.filter(_beyond(keys, _decode(after, keys), forward=True)).order_by(*forward_order)
        else:
            queryset = queryset.order_by(*forward_order)
    except InvalidCursor:
        queryset, after = queryset.order_by(*forward_order), ""
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]

    def cursor(row: Any) -> str:
        return _encode([value_of(row, k.name) for k in keys])

    if going_back:
        rows.reverse()
        next_cursor = cursor(rows[-1]) if rows else None
        previous_cursor = cursor(rows[0]) if rows and more else None
    else:
        next_cursor = cursor(rows[-1]) if rows and more else None
        previous_cursor = cursor(rows[0]) if rows and after else None
    return KeysetPage(items=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)
