"""Rebuild the vendor fixtures from the hand-written corpus.

    python -m connectors.sandbox.build                  # every vendor
    python -m connectors.sandbox.build --vendor autotask

Loads the corpus (`connectors.sandbox.corpus.load_corpus`) and hands it to each vendor module's
`build_fixtures(tickets, fixtures / vendor)`, which writes that vendor's payload files. The
builders are deterministic, so rebuilding an unchanged corpus changes no file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from connectors.sandbox.base import FIXTURES, VENDORS
from connectors.sandbox.corpus import load_corpus
from connectors.sandbox.registry import fixture_builder
from records import ConfigError, Ticket


def _describe(result: object, folder: Path) -> str:
    if isinstance(result, Mapping):
        return ", ".join(f"{value} {key}" for key, value in result.items())
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    return f"{len(files)} file(s), {sum(path.stat().st_size for path in files):,} bytes"


def build(vendors: Sequence[str], *, fixtures: Path = FIXTURES,
          tickets: Sequence[Ticket] | None = None) -> dict[str, str]:
    """Write each vendor's fixtures from the corpus; return a one-line summary per vendor."""
    builders = {vendor: fixture_builder(vendor) for vendor in vendors}  # fail before writing
    if tickets is None:
        tickets = load_corpus(fixtures)
    if not tickets:
        raise ConfigError("fixtures", f"no corpus tickets found in {fixtures}")
    summary = {}
    for vendor, builder in builders.items():
        folder = fixtures / vendor
        folder.mkdir(parents=True, exist_ok=True)
        result = builder(list(tickets), folder)
        summary[vendor] = _describe(result, folder)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: build the chosen vendors' fixtures and print what was written."""
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox.build",
                                     description="Rebuild fixtures/<vendor>/ from the corpus.")
    parser.add_argument("--vendor", action="append", choices=VENDORS,
                        help="vendor to build (repeatable; default: all)")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES,
                        help=f"fixtures folder (default: {FIXTURES})")
    args = parser.parse_args(argv)
    vendors = tuple(args.vendor or VENDORS)
    try:
        for vendor in vendors:  # name a missing vendor module before reading anything
            fixture_builder(vendor)
        tickets = load_corpus(args.fixtures)
        summary = build(vendors, fixtures=args.fixtures, tickets=tickets)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"corpus: {len(tickets)} tickets from {args.fixtures}")
    for vendor, line in summary.items():
        print(f"{vendor}: {line} -> {args.fixtures / vendor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
