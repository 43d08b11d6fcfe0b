from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    """Newest first, stable under inserts (a cursor, as Stripe's lists are)."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request):  # noqa: ANN001, ANN201 - DRF's signature
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = "Invalid cursor: use the next or previous link of a list answer."
            raise ValidationError({"cursor": [message]}) from None
