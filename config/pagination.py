from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    """Newest first, stable under inserts (a cursor, as Stripe's lists are)."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
