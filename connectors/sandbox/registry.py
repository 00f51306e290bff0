"""Which module emulates which vendor, imported lazily so the sandbox runs with those that exist.

Names are dotted paths ("package.module:attribute"), resolved on first use. A vendor whose module
is missing gets a `ConfigError` naming the vendor, not an ImportError from deep inside the server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from connectors.sandbox.base import VENDORS, Emulation
from records import ConfigError, Ticket

EMULATIONS: dict[str, str] = {
    "connectwise": "connectors.sandbox.connectwise:ConnectWiseEmulation",
    "autotask": "connectors.sandbox.autotask:AutotaskEmulation",
    "halopsa": "connectors.sandbox.halopsa:HaloPsaEmulation",
}
"""Vendor name -> dotted path of its emulation class."""

FIXTURE_BUILDERS: dict[str, str] = {
    vendor: path.split(":")[0] + ":build_fixtures" for vendor, path in EMULATIONS.items()
}
"""Vendor name -> dotted path of `build_fixtures(tickets, folder)` that writes its fixtures."""

FixtureBuilder = Callable[[list[Ticket], Path], Any]
"""Renders corpus tickets as one vendor's payload files in a folder."""


def _resolve(vendor: str, table: dict[str, str], what: str) -> Any:
    if vendor not in table:
        known = ", ".join(sorted(table))
        raise ConfigError("sandbox.vendors", f"unknown vendor {vendor!r} (known: {known})")
    module_name, _, attribute = table[vendor].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name != missing and not module_name.startswith(missing + "."):
            raise  # the module exists but something it imports does not: a real bug
        raise ConfigError(
            "sandbox.vendors", f"the {vendor} {what} is not available: no module {module_name}"
        ) from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise ConfigError(
            "sandbox.vendors", f"the {vendor} {what} is not available: {module_name} has no "
            f"{attribute}"
        ) from exc


def emulation_class(vendor: str) -> type[Emulation]:
    """The emulation class for `vendor`; ConfigError naming the vendor if it is missing."""
    return cast(type[Emulation], _resolve(vendor, EMULATIONS, "emulation"))


def fixture_builder(vendor: str) -> FixtureBuilder:
    """The `build_fixtures` function for `vendor`; ConfigError naming the vendor if missing."""
    return cast(FixtureBuilder, _resolve(vendor, FIXTURE_BUILDERS, "fixture builder"))


def available_vendors(vendors: tuple[str, ...] = VENDORS) -> tuple[str, ...]:
    """The vendors among `vendors` whose emulation can be imported now."""
    found = []
    for vendor in vendors:
        try:
            emulation_class(vendor)
        except ConfigError:
            continue
        found.append(vendor)
    return tuple(found)
