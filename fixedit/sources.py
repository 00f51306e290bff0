"""Turn a configured source into a live connector. The one place that knows every connector kind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from connectors import FileImport, FileImportSettings
from connectors.autotask import Autotask, AutotaskSettings
from connectors.base import Connector
from connectors.connectwise import ConnectWise, ConnectWiseSettings
from connectors.halopsa import HaloPsa, HaloPsaSettings
from fixedit.settings import SourceSettings

USER_AGENT = "fixedit/0.1 (+https://fixedit.example)"


def kinds_in_order(connector: Connector) -> list[str]:
    """The kinds a connector syncs, tickets first (child streams re-read their parents)."""
    return sorted(connector.kinds, key=lambda kind: (kind != "ticket", kind))


@contextmanager
def open_connector(settings: SourceSettings) -> Iterator[Connector]:
    """The connector for one `[[sources]]` table, with its HTTP client closed afterwards."""
    if isinstance(settings, FileImportSettings):
        yield FileImport(settings)
        return
    with httpx.Client(timeout=settings.http.timeout_seconds,
                      headers={"User-Agent": USER_AGENT}) as client:
        if isinstance(settings, ConnectWiseSettings):
            yield ConnectWise(settings, client=client)
        elif isinstance(settings, AutotaskSettings):
            yield Autotask(settings, client=client)
        elif isinstance(settings, HaloPsaSettings):
            yield HaloPsa(settings, client=client)
