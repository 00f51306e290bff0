"""Benchmark: how much of a labelled set of planted secrets redaction removes, and what it costs.

    python -m bench.redaction              # recall and false positives, per kind, dev and test
    python -m bench.redaction --show dev   # also list the misses and false positives of a split
    python -m bench.redaction --tickets 0  # skip the throughput line

The labelled set lives in ``tests/extract/data/redaction/``: ``secrets.jsonl`` holds notes with
planted secrets (each secret's exact text labelled with its kind), ``normal.jsonl`` holds notes
with none but full of look-alikes (password resets, GUIDs, KB numbers, order numbers, hashes).
Each note is in the ``dev`` or ``test`` split (alternating by position); rules are tuned on dev
only, so the test figures say how they do on notes they were not tuned on.

A secret counts as removed when its exact text no longer occurs anywhere in the redacted note.
A normal note is a false positive when redaction changes it at all.

The last line is throughput: `redact_ticket` over the sandbox corpus (the tickets ``python -m
bench.extract`` uses) cycled to ``--tickets``, in CPU seconds of this process so that other load
on the machine does not skew it; redaction's budget is 0.17 ms a ticket (6,000 tickets/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.sandbox.corpus import load_corpus
from extract import redact_text, redact_ticket

DATA = Path(__file__).resolve().parent.parent / "tests" / "extract" / "data" / "redaction"
SPLITS = ("dev", "test")
TARGET_TICKETS_PER_SECOND = 6000.0


def load(name: str) -> list[dict[str, Any]]:
    """The notes of one JSONL file of the labelled set."""
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class SplitResult:
    """Recall on planted secrets and false positives on normal notes, for one split."""

    planted: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    normal: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)
    fp_categories: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    characters: int = 0

    @property
    def recall(self) -> float:
        """Share of planted secrets removed, over every kind."""
        total = sum(self.planted.values())
        return sum(self.removed.values()) / total if total else 1.0

    @property
    def fp_rate(self) -> float:
        """Share of normal notes that redaction changed."""
        return len(self.false_positives) / self.normal if self.normal else 0.0


def measure(secret_notes: Sequence[dict[str, Any]],
            normal_notes: Sequence[dict[str, Any]]) -> dict[str, SplitResult]:
    """Run redaction over every note and score it per split."""
    results = {split: SplitResult() for split in SPLITS}
    for item in secret_notes:
        result = results[item["split"]]
        started = time.perf_counter()
        redacted, _ = redact_text(item["text"])
        result.seconds += time.perf_counter() - started
        result.characters += len(item["text"])
        for secret in item["secrets"]:
            result.planted[secret["kind"]] += 1
            if secret["value"] in redacted:
                result.misses.append((item["id"], secret["kind"], redacted))
            else:
                result.removed[secret["kind"]] += 1
    for item in normal_notes:
        result = results[item["split"]]
        started = time.perf_counter()
        redacted, counts = redact_text(item["text"])
        result.seconds += time.perf_counter() - started
        result.characters += len(item["text"])
        result.normal += 1
        if redacted != item["text"]:
            result.false_positives.append((item["id"], redacted))
            result.fp_categories.update(counts)
    return results


def _report(results: dict[str, SplitResult], show: str | None) -> None:
    kinds = sorted(set().union(*(r.planted for r in results.values())))
    print(f"{'kind':<20}" + "".join(f"{split + ' removed':>18}" for split in SPLITS))
    for kind in kinds:
        cells = [f"{r.removed[kind]}/{r.planted[kind]}" for r in results.values()]
        print(f"{kind:<20}" + "".join(f"{cell:>18}" for cell in cells))
    print(f"{'recall':<20}" + "".join(f"{r.recall:>18.1%}" for r in results.values()))
    print()
    print(f"{'normal notes':<20}" + "".join(f"{r.normal:>18}" for r in results.values()))
    fps = [f"{len(r.false_positives)} ({r.fp_rate:.1%})" for r in results.values()]
    print(f"{'false positives':<20}" + "".join(f"{cell:>18}" for cell in fps))
    categories = sorted(set().union(*(r.fp_categories for r in results.values())))
    for category in categories:
        cells = [str(r.fp_categories[category]) for r in results.values()]
        print(f"{'  as ' + category:<20}" + "".join(f"{cell:>18}" for cell in cells))
    speed = [f"{r.characters / r.seconds / 1e6:.1f} MB/s" if r.seconds else "-"
             for r in results.values()]
    print(f"{'speed':<20}" + "".join(f"{cell:>18}" for cell in speed))
    if show is not None:
        result = results[show]
        for note_id, kind, redacted in result.misses:
            print(f"\nMISS {note_id} {kind}: {redacted!r}")
        for note_id, redacted in result.false_positives:
            print(f"\nFALSE POSITIVE {note_id}: {redacted!r}")


def throughput(tickets: int) -> tuple[float, float]:
    """Tickets per CPU second of `redact_ticket` over the sandbox corpus cycled to `tickets`
    (after one warm-up pass), and milliseconds per ticket."""
    base = load_corpus()
    corpus = [base[i % len(base)] for i in range(tickets)]
    for ticket in base:
        redact_ticket(ticket)
    started = time.process_time()
    for ticket in corpus:
        redact_ticket(ticket)
    seconds = time.process_time() - started
    return (tickets / seconds if seconds else float("inf"),
            1000 * seconds / tickets)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; exit 1 when any planted secret survives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=SPLITS, help="list the misses and false positives")
    parser.add_argument("--tickets", type=int, default=3000,
                        help="tickets for the throughput line (0 to skip; default 3000)")
    args = parser.parse_args(argv)
    if args.tickets < 0:
        parser.error("--tickets must be 0 or more")
    results = measure(load("secrets.jsonl"), load("normal.jsonl"))
    _report(results, args.show)
    if args.tickets:
        per_second, ms = throughput(args.tickets)
        verdict = "ok" if per_second >= TARGET_TICKETS_PER_SECOND else "missed"
        print(f"\n{'throughput':<20}{per_second:,.0f} tickets/s ({ms:.3f} ms a ticket, CPU time, "
              f"{args.tickets:,} sandbox tickets; target >= {TARGET_TICKETS_PER_SECOND:,.0f} "
              f"{verdict})")
    return 0 if all(not r.misses for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
