"""Keyset (cursor) paging: each page continues after the last row's id, so a row inserted
meanwhile never shifts or repeats a page, and page 10,000 costs what page 1 costs."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
