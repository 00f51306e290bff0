"""Connectors: one module per external source, the shared HTTP layer and the paginators."""

from connectors.base import Connector
from connectors.file_import import CsvMapping, CsvNoteColumn, FileImport, FileImportSettings
from connectors.http import HttpSettings, HttpStatusError, SourceHttp, parse_retry_after
from connectors.pagination import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    parse_link_header,
)

__all__ = [
    "Connector",
    "CsvMapping",
    "CsvNoteColumn",
    "CursorPaginator",
    "FileImport",
    "FileImportSettings",
    "HttpSettings",
    "HttpStatusError",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "Page",
    "PageNumberPaginator",
    "PageRequest",
    "SourceHttp",
    "parse_link_header",
    "parse_retry_after",
]
