from __future__ import annotations

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """Opaque `cursor` links (`next`, `previous`): stable while rows are added, cheap at any
    depth. `page_size` may be given up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


class OldestFirstCursorPagination(ApiCursorPagination):
    """For a ticket's messages and events: in the order they happened."""

    ordering = "id"
