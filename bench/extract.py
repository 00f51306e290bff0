"""Benchmark: extraction throughput on one core, set beside spaCy's bare tokeniser as the ceiling.

    python -m bench.extract                     # 10,000 tickets
    python -m bench.extract --tickets 20000 --profile /tmp/extract.prof
    python -m bench.extract --repeat 3          # best of three runs, and their spread

The corpus is the sandbox's hand-written tickets (`connectors.sandbox.corpus.load_corpus`) cycled
with fresh external ids until it holds `--tickets`. Three stages run over it, each after a
warm-up pass, in one process pinned to one CPU (no multiprocessing):

1. ceiling: ``spacy.blank("en")`` tokenisation (`nlp.pipe`) of the texts the extractor reads
   (title, description, every note, after redaction);
2. redaction alone (`redact_ticket`);
3. the full pipeline as the sync runs it: `redact_ticket`, then `Extractor.extract_many`.

Peak memory is the process's peak resident set size (``getrusage`` maxrss), what users see,
read after each stage (it only grows). See bench/README.md for the columns. ``CPU s`` is the
process's CPU time over a stage (``time.process_time``), which other work on a loaded machine
leaves alone: compare runs by it. The "full pipeline by part" table splits the full stage by what
the extractor times (`Extractor.timings` / `cpu_timings`), in wall and CPU ms a ticket.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import spacy
from rich.console import Console
from rich.table import Table

from connectors.sandbox.corpus import load_corpus
from extract import EXTRACTOR_VERSION, Extractor, redact_ticket
from records import Ticket

TARGET_TICKETS_PER_SECOND = 1500.0
TARGET_PEAK_MB = 400.0
_WARM_UP = 500
_PARTS = {"sources": "cleaning (ticket_sources)", "spacy": "tokenise + components",
          "rules": "segments, roles, entities", "models": "models (roles + category)",
          "assembly": "assembly"}


@dataclass(frozen=True)
class Stage:
    """One timed stage of the bench."""

    name: str
    tickets: int
    seconds: float
    peak_mb: float
    # CPU seconds of this process over the stage: what other work on the machine leaves alone
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Tickets per second."""
        return self.tickets / self.seconds if self.seconds else float("inf")

    @property
    def ms_per_ticket(self) -> float:
        """Milliseconds per ticket."""
        return 1000 * self.seconds / self.tickets if self.tickets else 0.0


def build_corpus(size: int) -> list[Ticket]:
    """At least `size` tickets: the hand-written corpus cycled, each copy with fresh ids."""
    base = load_corpus()
    copies = -(-size // len(base))
    corpus: list[Ticket] = []
    for copy in range(copies):
        for ticket in base:
            notes = [note.model_copy(update={"external_id": f"{note.external_id}-{copy}"})
                     for note in ticket.notes]
            corpus.append(ticket.model_copy(
                update={"external_id": f"{ticket.external_id}-{copy}", "notes": notes}))
    return corpus[:max(size, len(base))]


def ticket_texts(ticket: Ticket) -> Iterator[str]:
    """The texts of a ticket the extractor reads: title, description, every note."""
    yield ticket.title
    if ticket.description.strip():
        yield ticket.description
    for note in ticket.notes:
        if note.text.strip():
            yield note.text


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports maxrss in KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def pin_to_one_cpu() -> str:
    """Pin the process to one CPU where the OS allows it; say which."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def timed(name: str, tickets: int, run: Callable[[], object]) -> Stage:
    """Run `run` once with the garbage collector settled first, and time it."""
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return Stage(name, tickets, seconds, peak_rss_mb(), time.process_time() - cpu)


def run_stages(corpus: Sequence[Ticket], *, batch_size: int,
               profile: cProfile.Profile | None = None
               ) -> tuple[list[Stage], dict[str, tuple[float, float]]]:
    """Warm up, then time the ceiling, redaction alone and the full pipeline over `corpus`;
    also return the full pipeline's (wall, CPU) seconds per part (redaction, then the
    extractor's stages)."""
    nlp = spacy.blank("en")
    extractor = Extractor(batch_size=batch_size)
    redacted = [redact_ticket(ticket)[0] for ticket in corpus]
    texts = [text for ticket in redacted for text in ticket_texts(ticket)]

    def tokenise(limit: int | None = None) -> None:
        for _ in nlp.pipe(texts[:limit], batch_size=batch_size):
            pass

    def redact(tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            redact_ticket(ticket)

    redaction = [0.0, 0.0]

    def timed_redaction(tickets: Sequence[Ticket]) -> Iterator[Ticket]:
        for ticket in tickets:
            started, cpu = time.perf_counter(), time.process_time()
            clean = redact_ticket(ticket)[0]
            redaction[0] += time.perf_counter() - started
            redaction[1] += time.process_time() - cpu
            yield clean

    def pipeline(tickets: Sequence[Ticket]) -> None:
        for _ in extractor.extract_many(timed_redaction(tickets)):
            pass

    warm = corpus[:_WARM_UP]
    tokenise(sum(1 for ticket in redacted[:_WARM_UP] for _ in ticket_texts(ticket)))
    redact(warm)
    pipeline(warm)

    stages = [
        timed("ceiling: blank tokeniser", len(corpus), tokenise),
        timed("redaction alone", len(corpus), lambda: redact(corpus)),
    ]
    extractor.timings.clear()
    extractor.cpu_timings.clear()
    redaction[:] = [0.0, 0.0]
    if profile is not None:
        profile.enable()
    stages.append(timed("full: redact + extract", len(corpus), lambda: pipeline(corpus)))
    if profile is not None:
        profile.disable()
    parts = {"redaction": (redaction[0], redaction[1])} | {
        _PARTS.get(name, name): (seconds, extractor.cpu_timings.get(name, 0.0))
        for name, seconds in extractor.timings.items()}
    return stages, parts


def render_parts(parts: dict[str, tuple[float, float]], full: Stage, console: Console) -> None:
    """Print where the full pipeline's time went (the rest: generators, batching, GC), in wall
    and CPU time: on a loaded machine only the CPU columns compare across runs."""
    table = Table(title="full pipeline by part")
    for column in ("part", "seconds", "ms/ticket", "CPU ms/ticket", "share of CPU"):
        table.add_column(column, justify="left" if column == "part" else "right")
    rest = (full.seconds - sum(wall for wall, _ in parts.values()),
            full.cpu_seconds - sum(cpu for _, cpu in parts.values()))
    per = 1000 / max(full.tickets, 1)
    for name, (wall, cpu) in [*parts.items(), ("other (batching, generators, GC)", rest)]:
        table.add_row(name, f"{wall:.2f}", f"{wall * per:.3f}", f"{cpu * per:.3f}",
                      f"{cpu / full.cpu_seconds:.0%}" if full.cpu_seconds else "-")
    console.print(table)


def render(stages: Sequence[Stage], *, texts: int, chars: int, pinned: str,
           console: Console) -> bool:
    """Print the table and the verdict; True when the full pipeline meets both targets."""
    ceiling = stages[0]
    table = Table(title=f"extraction on one core — extractor {EXTRACTOR_VERSION}, {pinned}")
    for column in ("stage", "tickets", "seconds", "CPU s", "tickets/s", "ms/ticket", "× ceiling",
                   "peak RSS MB"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in stages:
        table.add_row(stage.name, f"{stage.tickets:,}", f"{stage.seconds:.2f}",
                      f"{stage.cpu_seconds:.2f}",
                      f"{stage.per_second:,.0f}", f"{stage.ms_per_ticket:.3f}",
                      f"{stage.per_second / ceiling.per_second:.3f}", f"{stage.peak_mb:.0f}")
    console.print(table)
    console.print(f"{texts:,} texts, {chars / 1e6:.1f} M characters "
                  f"({chars / max(texts, 1):.0f} a text); peak RSS is getrusage maxrss of the "
                  "whole process (corpus included).")
    full = stages[-1]
    fast = full.per_second >= TARGET_TICKETS_PER_SECOND
    small = full.peak_mb < TARGET_PEAK_MB
    verdict = "PASS" if fast and small else "FAIL"
    console.print(
        f"{verdict}: {full.per_second:,.0f} tickets/s (target ≥ {TARGET_TICKETS_PER_SECOND:,.0f}"
        f" {'ok' if fast else 'missed'}), peak RSS {full.peak_mb:.0f} MB (target < "
        f"{TARGET_PEAK_MB:.0f} {'ok' if small else 'missed'}), "
        f"{full.per_second / ceiling.per_second:.1%} of the tokeniser ceiling")
    return fast and small


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench.extract", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000, help="corpus size (default 10000)")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="tickets per extractor batch (and texts per nlp.pipe batch for the "
                             "ceiling)")
    parser.add_argument("--profile", metavar="PATH",
                        help="write a cProfile of the full-pipeline stage to PATH")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the stages N times and show the run with the least full-stage "
                             "CPU time, with the spread of all N (on a shared or virtual host "
                             "one run can be 10%% off)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    console = Console(width=max(Console().width, 110))
    pinned = pin_to_one_cpu()
    corpus = build_corpus(args.tickets)
    texts = list(itertools.chain.from_iterable(ticket_texts(t) for t in corpus))
    profile = cProfile.Profile() if args.profile else None
    runs = [run_stages(corpus, batch_size=args.batch_size,
                       profile=profile if run == 0 else None) for run in range(args.repeat)]
    if profile is not None:
        profile.dump_stats(args.profile)
    stages, parts = min(runs, key=lambda run: run[0][-1].cpu_seconds)
    render_parts(parts, stages[-1], console)
    ok = render(stages, texts=len(texts), chars=sum(map(len, texts)), pinned=pinned,
                console=console)
    if args.repeat > 1:
        render_spread([run[0] for run in runs], console)
    return 0 if ok else 1


def render_spread(runs: Sequence[Sequence[Stage]], console: Console) -> None:
    """One line on how far the runs of `--repeat` spread: full-pipeline tickets/s, and its ratio
    to the same run's ceiling."""
    speeds = sorted(stages[-1].per_second for stages in runs)
    ratios = sorted(stages[-1].per_second / stages[0].per_second for stages in runs)
    console.print(f"{len(runs)} runs: full pipeline {speeds[0]:,.0f}–{speeds[-1]:,.0f} tickets/s "
                  f"(median {statistics.median(speeds):,.0f}), × ceiling "
                  f"{ratios[0]:.3f}–{ratios[-1]:.3f} (median {statistics.median(ratios):.3f}); "
                  "the tables show the run with the least full-stage CPU time")


if __name__ == "__main__":
    sys.exit(main())
