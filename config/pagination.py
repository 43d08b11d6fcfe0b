"""The API's one list shape: a cursor page ``{next, previous, results}``, newest first, and how the
OpenAPI schema describes it (the page and its ``limit`` and ``cursor`` parameters)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
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


PAGE_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, required=False,
                     description=f"Items per page, 1 to {Pagination.max_page_size} (default {Pagination.page_size}); "
                                 "anything else is a 400 naming `limit`."),
    OpenApiParameter("cursor", OpenApiTypes.STR, required=False,
                     description="Where the page starts: take it from the `next` or `previous` link of a page "
                                 "(opaque; a forged one is a 400 naming `cursor`)."),
]

_pages: dict[str, type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The serializer describing a page of ``item`` in the schema (``Paginated<Item>List``): what
    ``TenantApi.paginated`` answers. One class per item, so the component is shared."""
    name = f"Paginated{item.__name__.removesuffix('Output')}List"
    if name not in _pages:
        attrs: dict[str, Any] = {
            "next": serializers.URLField(allow_null=True, help_text="The next (older) page; null on the last."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous (newer) page; null on the "
                                                                        "first."),
            "results": item(many=True),
            "__module__": __name__,
        }
        _pages[name] = type(name, (serializers.Serializer,), attrs)
    return _pages[name]
