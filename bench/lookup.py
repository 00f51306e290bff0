"""How fast is "has anyone fixed this before?" with 10k, 100k and a million stored resolutions?

```
.venv/bin/python -m bench.lookup                         # 10,000, 100,000 and 1,000,000
.venv/bin/python -m bench.lookup --sizes 10000,100000    # about a minute
.venv/bin/python -m bench.lookup --queries 300 --keep /tmp/lookup-bench
```

For each size the bench:

1. synthesises that many resolutions from the bundled corpus (`connectors/sandbox/corpus.py`,
   extracted with `extract.Extractor`): four in five corpus tickets are *bases*; each synthetic
   resolution is a base with its words varied (synonyms, dropped words, a few typos), its error
   codes, KB numbers, host names and companies drawn from pools, its steps shuffled or borrowed
   from another base of the same category, and an outcome, source and close date of its own; a
   few of their tickets are reopened;
2. bulk-inserts them (with one ticket row each) into a fresh SQLite store in a temporary folder,
   and the same text into a plain SQLite FTS5 table (the baseline);
3. builds `store.lookup.SearchIndex` (build time, the process's peak RSS so far and the RSS
   after the build: the sizes run in ascending order, so the peak is the current size's);
4. runs `--queries` queries (default 1,000) made from the *held-out* fifth of the corpus:
   titles, title + description, description sentences, half of them with typos, some with a
   partial error code, 30% scoped to one company, and times each `SearchIndex.search` (limit 10)
   and the same text as an FTS5 ``bm25()`` OR-query (limit 10, weights 3/2/1.5/1 for title,
   problem, symptoms, steps; no typo tolerance, no filters), in the same process.

It prints one row per size and system with p50/p99 and PASS/FAIL against the target (in-process
p99 < 50 ms, at every size up to 1M). At 10k and 100k it also measures lookups over HTTP
(`measure_http`: `fixedit serve` with two worker processes and 16 concurrent closed-loop
clients, see bench/lookup_http.py; target p99 < 100 ms at 100k) and prints the server's and
the client's CPU time per request beside it.
Runtime is dominated by generating and inserting the rows: about 20 s at 10k and 3 minutes at
100k; at 1M expect 15-20 minutes on an idle two-core machine (twice that on a busy one), about
6 GB of disk in the temporary folder and 3-4 GB of RAM. The FTS5 baseline stops after
`--fts-budget` seconds per size (an OR query over a million rows takes seconds), so its row may
count fewer queries. The exit status is 1 when a fixedit row fails its target.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from records import Resolution, Ticket
from store import make_engine, migrate
from store.lookup import LookupFilters, SearchIndex
from store.resolutions import context_text
from store.search import search_text, tokenize
from store.tables import ResolutionRow, TicketRow

TARGET_P99_MS = 50.0
HTTP_TARGET_P99_MS = 100.0
"""Over HTTP: p99 under 100 ms at 100k resolutions with 16 concurrent clients."""
HTTP_CLIENTS = 16
HTTP_SIZES = (10_000, 100_000)
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
_BATCH = 10_000
_FTS_WEIGHTS = "3.0, 2.0, 1.5, 1.0"

_SYNONYMS: dict[str, list[str]] = {
    "error": ["error", "failure", "issue"], "fails": ["fails", "is failing", "keeps failing"],
    "user": ["user", "staff member", "employee"], "restarted": ["restarted", "rebooted"],
    "reboot": ["reboot", "restart"], "laptop": ["laptop", "notebook", "pc"],
    "cannot": ["cannot", "can't", "unable to"], "slow": ["slow", "sluggish", "laggy"],
    "missing": ["missing", "gone", "not showing"], "printer": ["printer", "copier", "mfp"],
    "email": ["email", "mail", "e-mail"], "password": ["password", "pw", "credentials"],
    "cleared": ["cleared", "deleted", "removed"], "reinstalled": ["reinstalled", "re-installed"],
    "updated": ["updated", "upgraded", "patched"], "server": ["server", "host", "box"],
    "not": ["not", "no longer"], "wont": ["wont", "won't", "will not"],
}
_COMPANY_WORDS = (
    "Acme", "Alder", "Birch", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris",
    "Juniper", "Keystone", "Lakeside", "Maple", "Northwind", "Oak", "Pioneer", "Quarry", "Ridge",
    "Summit", "Tidewater", "Union", "Valley", "Willow", "Yardley", "Zenith",
)
_COMPANY_KINDS = (
    "Dental", "Law", "Logistics", "Architects", "Clinic", "Insurance", "Realty", "Foods",
    "Partners", "Accounting", "Veterinary", "Manufacturing", "School", "Church", "Labs",
)
_NAMES = (
    "amy", "ben", "carla", "dev", "erin", "farid", "gina", "hugo", "ivan", "jae", "kim", "lena",
    "marcus", "nina", "omar", "paula", "quinn", "rosa", "sam", "tariq", "uma", "victor", "wen",
    "xavier", "yara", "zoe",
)
_HOST_PREFIXES = ("WS", "LT", "SRV", "DC", "PRN", "FS", "RDS", "HV", "NAS", "FW")
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


@dataclass(frozen=True)
class Corpus:
    """Extracted base resolutions and held-out tickets (the query material)."""

    bases: list[Resolution]
    held_out: list[Ticket]
    codes: list[str]
    products: list[str]
    contexts: dict[str, str]
    """Base ticket external id → its context text (description and notes, as stored)."""


@dataclass(frozen=True)
class Latency:
    """Per-query timings of one system at one size, in milliseconds."""

    system: str
    size: int
    times: list[float]
    answered: int
    confident: int = 0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_corpus_material() -> Corpus:
    """The corpus tickets extracted once; every fifth held out for queries."""
    from connectors.sandbox.corpus import load_corpus
    from extract import Extractor

    tickets = load_corpus()
    held_out = tickets[4::5]
    kept = [t for i, t in enumerate(tickets) if i % 5 != 4]
    bases = [r for r in Extractor().extract_many(kept) if r.usable]
    codes = sorted({c.text for r in bases for c in [*r.error_codes, *r.kb_refs]})
    products = sorted({p.text for r in bases for p in r.products})
    contexts = {t.external_id: context_text(t.model_dump_json()) for t in kept}
    return Corpus(bases, held_out, codes, products, contexts)


# --- synthesis -------------------------------------------------------------------------------

class Synth:
    """Varies base resolutions into as many realistic, distinct ones as asked for."""

    def __init__(self, corpus: Corpus, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.corpus = corpus
        self.companies = [f"{a} {b}" for a in _COMPANY_WORDS for b in _COMPANY_KINDS]
        rng = self.rng
        self.codes = corpus.codes + [f"0x8007{rng.randrange(16**4):04X}" for _ in range(1500)] \
            + [f"0x8004{rng.randrange(16**4):04X}" for _ in range(500)] \
            + [f"Event ID {rng.randrange(1000, 9999)}" for _ in range(300)] \
            + [f"KB50{rng.randrange(10**5):05d}" for _ in range(800)] \
            + [f"AADSTS{rng.randrange(50000, 90000)}" for _ in range(200)]
        self.dumps = [base.model_dump(mode="json") for base in corpus.bases]
        self.by_category: dict[str, list[Resolution]] = {}
        for base in corpus.bases:
            self.by_category.setdefault(base.category, []).append(base)

    def typo(self, word: str) -> str:
        if len(word) < 4:
            return word
        i = self.rng.randrange(1, len(word) - 1)
        kind = self.rng.randrange(3)
        if kind == 0:
            return word[:i] + word[i + 1:]
        if kind == 1:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        return word[:i] + word[i] + word[i:]

    def vary(self, text: str, typo_rate: float = 0.02) -> str:
        """Synonyms, dropped words, typos and the odd host or person name."""
        rng = self.rng

        def one(match: re.Match[str]) -> str:
            word = match.group()
            roll = rng.random()
            options = _SYNONYMS.get(word.lower())
            if options and roll < 0.5:
                return rng.choice(options)
            if roll < 0.05 and len(word) > 3:
                return ""
            if roll < 0.05 + typo_rate:
                return self.typo(word)
            return word

        varied = _WORD.sub(one, text)
        roll = rng.random()
        if roll < 0.15:
            varied += f" on {rng.choice(_HOST_PREFIXES)}-{rng.randrange(1, 20000)}"
        elif roll < 0.25:
            varied += f" for {rng.choice(_NAMES)}"
        return re.sub(r"\s{2,}", " ", varied).strip()

    def resolution(self, external_id: str) -> tuple[dict[str, object], dict[str, object]]:
        """One synthetic (ticket values, resolution values) pair; the payload is valid JSON."""
        rng = self.rng
        number = rng.randrange(len(self.corpus.bases))
        base = self.corpus.bases[number]
        data = dict(self.dumps[number])
        data["ticket"] = {**data["ticket"], "source": "bench", "external_id": external_id,
                          "url": None}

        def item(text: str) -> dict[str, object]:
            return {"text": text, "evidence": []}

        data["title"] = item(self.vary(base.title.text))
        data["problem"] = item(self.vary(base.problem.text)) if base.problem else None
        data["cause"] = item(self.vary(base.cause.text)) if base.cause else None
        data["symptoms"] = [item(self.vary(s.text)) for s in base.symptoms
                            if rng.random() > 0.2]
        steps = [s.text for s in base.steps if rng.random() > 0.15] or [base.steps[0].text]
        if rng.random() < 0.3:
            other = rng.choice(self.by_category[base.category])
            steps.insert(rng.randrange(len(steps) + 1), rng.choice(other.steps).text)
        data["steps"] = [item(self.vary(s)) for s in steps]
        data["failed_attempts"] = [item(f.text) for f in base.failed_attempts]
        data["verification"] = item(base.verification.text) if base.verification else None
        codes = [c.text for c in base.error_codes]
        if codes or rng.random() < 0.2:
            codes = [rng.choice(self.codes) if rng.random() < 0.7 else c for c in codes] \
                or [rng.choice(self.codes)]
        data["error_codes"] = [item(c) for c in codes if not c.startswith("KB")]
        data["kb_refs"] = [item(c) for c in codes if c.startswith("KB")] + \
            [item(k.text) for k in base.kb_refs]
        data["products"] = [item(p.text) for p in base.products]
        if data["products"] and rng.random() < 0.1:
            data["products"].append(item(rng.choice(self.corpus.products)))
        data["hosts"] = []
        data["company"] = rng.choice(self.companies)
        outcome = base.outcome.value if rng.random() < 0.8 else \
            rng.choice(["resolved", "resolved", "workaround", "escalated", "unresolved"])
        data["outcome"] = outcome
        closed = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(1_500_000))
        data["closed_at"] = closed.isoformat()
        if self.rng.random() < 0.001:  # spot-check: the payload must stay a valid Resolution
            Resolution.model_validate(data)
        reopened = rng.random() < 0.03
        ticket = {
            "source": "bench", "external_id": external_id, "title": data["title"]["text"],
            "company": data["company"], "status": "In Progress" if reopened else "Closed",
            "board": "Service Desk", "assignee": None, "created_at": closed - timedelta(hours=5),
            "updated_at": closed + timedelta(days=2 if reopened else 0),
            "closed_at": None if reopened else closed, "deleted_at": None,
            "content_hash": external_id, "payload": "{}", "extracted_hash": external_id,
            "extracted_version": "bench",
        }
        texts = [data["title"]["text"], *(item["text"] for key in ("problem", "cause")
                                          if (item := data[key]) is not None)]
        for key in ("symptoms", "steps", "products", "error_codes", "kb_refs"):
            texts.extend(item["text"] for item in data[key])
        tokens = tokenize(" \n ".join(texts))  # what store.search.resolution_tokens yields
        row = {
            "source": "bench", "external_id": external_id, "title": data["title"]["text"],
            "problem": data["problem"]["text"] if data["problem"] else None,
            "category": data["category"], "outcome": outcome, "confidence": 0.8,
            "usable": bool(data["problem"] and data["steps"]), "company": data["company"],
            "board": "Service Desk", "technician": None, "closed_at": closed,
            "extractor_version": "bench", "created_at": closed, "updated_at": closed,
            "search_text": search_text(tokens), "search_length": len(tokens),
            "context_text": self.vary(self.corpus.contexts.get(base.ticket.external_id, "")),
            "payload": json.dumps(data),
        }
        return ticket, row


def populate(path: Path, synth: Synth, size: int) -> tuple[sa.Engine, sqlite3.Connection]:
    """A migrated SQLite store with `size` synthetic resolutions, and its FTS5 baseline."""
    engine = make_engine(f"sqlite:///{path / 'fixedit.db'}")
    migrate(engine)
    fts = sqlite3.connect(path / "fts.db")
    fts.execute("CREATE VIRTUAL TABLE docs USING fts5(title, problem, symptoms, steps, "
                "tokenize='unicode61 remove_diacritics 2')")
    for start in range(0, size, _BATCH):
        pairs = [synth.resolution(f"B{n:08d}") for n in range(start, min(size, start + _BATCH))]
        with engine.begin() as connection:
            ids = connection.execute(
                sa.insert(TicketRow).returning(TicketRow.id, sort_by_parameter_order=True),
                [ticket for ticket, _ in pairs]).scalars().all()
            connection.execute(sa.insert(ResolutionRow),
                               [{**row, "ticket_id": i} for (_, row), i in zip(pairs, ids,
                                                                               strict=True)])
        fts.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", [_fts_row(row) for _, row in pairs])
        fts.commit()
    return engine, fts


def _fts_row(row: dict[str, object]) -> tuple[str, str, str, str]:
    data = json.loads(str(row["payload"]))
    texts = [(data.get("problem") or {}).get("text", ""), (data.get("cause") or {}).get("text", "")]
    return (data["title"]["text"], " ".join(texts),
            " ".join(s["text"] for s in data["symptoms"]),
            " ".join(s["text"] for s in data["steps"]))


# --- queries ---------------------------------------------------------------------------------

def queries(synth: Synth, count: int, seed: int = 11) -> list[tuple[str, LookupFilters]]:
    """Queries from held-out tickets: some with typos, partial codes, a company scope."""
    rng = random.Random(seed)
    made: list[tuple[str, LookupFilters]] = []
    held = synth.corpus.held_out
    for n in range(count):
        ticket = held[n % len(held)]
        description = ticket.description or (ticket.notes[0].text if ticket.notes else "")
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", description) if len(s) > 20]
        form = rng.randrange(3)
        if form == 0 or not sentences:
            text = ticket.title
        elif form == 1:
            text = f"{ticket.title}. {description[:240]}"
        else:
            text = rng.choice(sentences)[:240]
        if rng.random() < 0.5:
            words = text.split()
            for _ in range(rng.randint(1, 2)):
                i = rng.randrange(len(words))
                words[i] = synth.typo(words[i])
            text = " ".join(words)
        if rng.random() < 0.1:
            text += " " + rng.choice(synth.codes)[:6]
        scope = LookupFilters(company=rng.choice(synth.companies)) if rng.random() < 0.3 \
            else LookupFilters()
        made.append((text, scope))
    return made


def time_fixedit(index: SearchIndex, work: Sequence[tuple[str, LookupFilters]],
                 size: int) -> Latency:
    for text, scope in work[:20]:  # warm-up: first-use caches (filter masks, product aliases)
        index.search(text, filters=scope)
    times: list[float] = []
    answered = confident = 0
    for text, scope in work:
        start = time.perf_counter()
        matches = index.search(text, filters=scope, limit=10)
        times.append((time.perf_counter() - start) * 1000)
        answered += bool(matches)
        confident += bool(matches) and matches[0].confident
    return Latency("fixedit", size, times, answered, confident)


def time_fts(fts: sqlite3.Connection, work: Sequence[tuple[str, LookupFilters]],
             size: int, budget: float) -> Latency:
    """The FTS5 baseline, stopped after `budget` seconds (at 1M an OR query takes seconds)."""
    sql = (f"SELECT rowid, bm25(docs, {_FTS_WEIGHTS}) AS rank FROM docs WHERE docs MATCH ? "  # noqa: S608 (constant weights)
           f"ORDER BY rank LIMIT 10")
    times: list[float] = []
    answered = 0
    deadline = time.perf_counter() + budget
    for text, _ in work:
        if time.perf_counter() > deadline:
            break
        words = list(dict.fromkeys(w.lower() for w in re.findall(r"\w+", text)))
        match = " OR ".join(f'"{w}"' for w in words) or '""'
        start = time.perf_counter()
        rows = fts.execute(sql, (match,)).fetchall()
        times.append((time.perf_counter() - start) * 1000)
        answered += bool(rows)
    return Latency("sqlite fts5", size, times, answered)


def measure_http(engine: sa.Engine, size: int, work: Sequence[tuple[str, LookupFilters]],
                 clients: int = HTTP_CLIENTS) -> tuple[Latency, str] | None:
    """HTTP lookup latency with `clients` concurrent clients against `fixedit serve` (in its own
    processes, see bench/lookup_http.py), and a line with its throughput and CPU per request,
    at the sizes in HTTP_SIZES; None elsewhere."""
    if size not in HTTP_SIZES:
        return None
    from bench.lookup_http import measure, summary

    timings = measure(engine, [text for text, _ in work], clients=clients)
    if timings.failed:
        print(f"HTTP: {timings.failed} requests failed", flush=True)
    return (Latency(f"http x{clients}", size, timings.times, timings.answered,
                    timings.confident),
            f"{size:>9,}  HTTP: {summary(timings, clients)}")


# --- running ---------------------------------------------------------------------------------

def _rss_mb() -> tuple[float, float]:
    """(peak RSS so far, current RSS) of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return peak, current


def run(sizes: Sequence[int], count: int, keep: Path | None, fts_budget: float) -> bool:
    print("extracting the corpus once…", flush=True)
    corpus = load_corpus_material()
    print(f"{len(corpus.bases)} base resolutions, {len(corpus.held_out)} held-out tickets",
          flush=True)
    print(_HEADER, flush=True)
    results: list[Latency] = []
    builds: list[str] = []
    http_lines: list[str] = []
    for size in sorted(sizes):
        synth = Synth(corpus)
        work = queries(synth, count)
        with tempfile.TemporaryDirectory(prefix="lookup-bench-", dir=keep) as folder:
            started = time.perf_counter()
            engine, fts = populate(Path(folder), synth, size)
            stored = time.perf_counter() - started
            index = SearchIndex(engine)
            started = time.perf_counter()
            indexed = index.rebuild()
            built = time.perf_counter() - started
            peak, current = _rss_mb()
            builds.append(f"{size:>9,}  stored in {stored:6.1f} s  index built in {built:6.1f} s "
                          f"({indexed:,} resolutions)  peak RSS {peak:,.0f} MB  "
                          f"RSS after build {current:,.0f} MB")
            print(builds[-1], flush=True)
            for measured in (time_fixedit(index, work, size),
                             time_fts(fts, work, size, fts_budget)):
                results.append(measured)
                print(_row(measured), flush=True)
            http = measure_http(engine, size, work)
            if http is not None:
                results.append(http[0])
                http_lines.append(http[1])
                print(_row(http[0]), flush=True)
                print(http[1], flush=True)
            fts.close()
            engine.dispose()
            del index
    if not any(r.system.startswith("http") for r in results):
        http_lines.append("HTTP: not measured (it runs at 10k and 100k)")
    return report(results, builds, http_lines)


def report(results: list[Latency], builds: list[str], http_lines: list[str]) -> bool:
    print()
    print(_HEADER)
    for r in results:
        print(_row(r))
    print()
    for line in [*builds, *http_lines]:
        print(line)
    return all(_passed(r) for r in results if r.system != "sqlite fts5")


_HEADER = (f"{'size':>9}  {'system':<12} {'queries':>7} {'p50 ms':>8} {'p99 ms':>8} "
           f"{'max ms':>8} {'answered':>8} {'confident':>9}  target")


def _target(r: Latency) -> float:
    return HTTP_TARGET_P99_MS if r.system.startswith("http") else TARGET_P99_MS


def _passed(r: Latency) -> bool:
    return r.quantile(0.99) < _target(r)


def _row(r: Latency) -> str:
    verdict = "—"
    if r.system != "sqlite fts5":
        verdict = f"{'PASS' if _passed(r) else 'FAIL'} (p99 < {_target(r):.0f} ms)"
    return (f"{r.size:>9,}  {r.system:<12} {len(r.times):>7} {statistics.median(r.times):>8.2f} "
            f"{r.quantile(0.99):>8.2f} {max(r.times):>8.2f} {r.answered:>8} "
            f"{r.confident if r.system != 'sqlite fts5' else '':>9}  {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated numbers of stored resolutions")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--fts-budget", type=float, default=120.0,
                        help="seconds the FTS5 baseline may spend per size (default 120)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the temporary stores (default: the system temp)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 10000,100000")
    if not sizes or min(sizes) < 1 or args.queries < 1:
        parser.error("sizes and --queries must be positive")
    return 0 if run(sizes, args.queries, args.keep, args.fts_budget) else 1


if __name__ == "__main__":
    sys.exit(main())
