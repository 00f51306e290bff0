"""Turn a configured source into a live connector. The one place that knows every connector kind."""

from __future__ import annotations

from connectors import FileImport
from connectors.base import Connector
from fixedit.settings import SourceSettings


def build_connector(settings: SourceSettings) -> Connector:
    """The connector for one `[[sources]]` table."""
    return FileImport(settings)
