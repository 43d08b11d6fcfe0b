"""The API's one list shape: a cursor page ``{next, previous, results}``, newest first, and how the
OpenAPI schema describes it (drf-spectacular wraps a list view's items in this page and adds its
``limit`` and ``cursor`` parameters)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class Pagination(CursorPagination):
    """Newest first, stable under inserts (a cursor, as Stripe's lists are). A ``limit`` that is not
    a whole number from 1 to ``max_page_size`` is refused (400 naming ``limit``), never ignored."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= value <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number from 1 to {self.max_page_size} (default {self.page_size}); got {raw[:40]!r}."]})
        return value

    def decode_cursor(self, request):  # noqa: ANN001, ANN201 - DRF's signature
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = "Invalid cursor: use the next or previous link of a list answer."
            raise ValidationError({"cursor": [message]}) from None

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next (older) page; null on the last.",
                         "example": "https://parley.example/api/v1/jobs?cursor=cD0yMDI2LTExLTMw"},
                "previous": {**link, "description": "The previous (newer) page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "description": f"Items per page, 1 to {self.max_page_size}; anything else is a 400 naming `limit`.",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size}},
            {"name": self.cursor_query_param, "in": "query", "required": False,
             "description": "Where the page starts: the `next` or `previous` link of a page carries it (opaque; "
                            "one that was not made by us is a 400 naming `cursor`).",
             "schema": {"type": "string"}},
        ]
