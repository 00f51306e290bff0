"""Train the sentence-role and category models: ``python -m extract.train``.

Fits both models on the train split of the labelled tickets (``extract/data/labelled/``), prints
their figures on the dev split, and writes the artefacts and their manifest to
``extract/models/``. Training is deterministic: the same data and library give the same models.
The test split is never read here.

The same models on any machine, too: OpenBLAS picks its kernels by CPU (AVX-512 machines get
other ones than AVX2 machines) and splits long dot products over as many threads as there are
cores, and either changes the last bits of the sums L-BFGS steers by, so the fitted weights
(measured: role probabilities moved by up to 3% relative between two machines). On Linux x86-64
with AVX2, ``python -m extract.train`` restarts itself with OpenBLAS pinned to its Haswell
(AVX2) kernels and one thread (`PINNED_BLAS`), what the shipped artefacts were built with; the
manifest records whether a training run was pinned. Elsewhere it trains unpinned and says so.

Units are the extractor's own: each labelled ticket is segmented and read by the rules exactly
as at inference, and a segment takes the role of the gold sentence it overlaps (by at least half
of the shorter of the two, the rule `extract.evaluate` scores with), else "other".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.linear_model import LogisticRegression
from spacy.language import Language
from spacy.strings import StringStore

from extract.analysis import Analysis, Segment, analyse
from extract.assemble import category_inputs
from extract.classifiers import (
    FORMAT_VERSION,
    MANIFEST,
    MODELS,
    Bundle,
    as_array,
    category_columns,
    sha256_file,
)
from extract.classifiers import segment_rows as _segment_rows
from extract.features import Block
from extract.labelled import LABELLED, LabelledTicket, load_labelled
from extract.nlp import build_nlp
from extract.segment import with_text
from extract.sources import ticket_sources
from records import Ticket

__all__ = ["Examples", "data_sha256", "examples", "fit_category", "fit_roles", "main",
           "rule_analysis", "train"]

log = logging.getLogger(__name__)

_ROLE_BY_RULE = {"symptom": "symptom", "cause": "cause", "action": "action",
                 "failed": "failed_attempt", "verification": "verification"}


@dataclass
class Examples:
    """Model inputs and gold labels built from labelled tickets."""

    role_columns: tuple[list[Any], list[Any], list[Any]]
    roles: list[str]
    rule_roles: list[str]
    category_columns: tuple[list[Any], list[Any], list[Any]]
    categories: list[str]
    rule_categories: list[str]
    strings: StringStore | None = None


def data_sha256(folder: Path = LABELLED) -> str:
    """sha256 over the labelled data files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _gold_role(segment: Segment, labelled: LabelledTicket) -> str:
    evidence = segment.source.evidence(segment.start, segment.end)
    where = evidence.note_id if evidence.field == "note" else evidence.field
    best, best_shared = "other", 0
    for span in labelled.spans:
        if span.where != where:
            continue
        shared = min(span.end, evidence.end) - max(span.start, evidence.start)
        if shared > 0 and shared * 2 >= min(span.end - span.start, evidence.end - evidence.start) \
                and shared > best_shared:
            best, best_shared = span.role, shared
    return best


def _rule_role(segment: Segment) -> str:
    for role in ("failed", "action", "cause", "verification", "symptom"):
        if role in {r.value for r in segment.roles}:
            return _ROLE_BY_RULE[role]
    return "other"


def rule_analysis(nlp: Language, ticket: Ticket) -> Analysis:
    """A ticket segmented and read by the rules alone, as the extractor reads it."""
    sources = ticket_sources(ticket)
    docs = list(nlp.pipe(with_text(nlp.make_doc(s.clean.text), s.clean.text) for s in sources))
    return analyse(sources, docs, use_model=False)


def examples(tickets: Sequence[LabelledTicket]) -> Examples:
    """Segment and ticket examples of `tickets`, read by the rules alone."""
    nlp = build_nlp()
    result = Examples(([], [], []), [], [], ([], [], []), [], [], nlp.vocab.strings)
    for labelled in tickets:
        analysis = rule_analysis(nlp, labelled.ticket)
        words, metas = _segment_rows(analysis.segments)
        result.role_columns[0].extend(words)
        result.role_columns[1].extend(words)
        result.role_columns[2].extend(metas)
        result.roles.extend(_gold_role(s, labelled) for s in analysis.segments)
        result.rule_roles.extend(_rule_role(s) for s in analysis.segments)
        row = category_inputs(analysis)
        for column, value in zip(result.category_columns,
                                 category_columns([row], [analysis]), strict=True):
            column.extend(value)
        result.rule_categories.append(row[2].split(" ", 1)[0].removeprefix("rule="))
        result.categories.append(str(labelled.fields.get("category", "other")))
    return result


def _fit(blocks: tuple[Block, ...], columns: Sequence[list[Any]], labels: list[str],
         classifier: LogisticRegression, strings: StringStore | None) -> Bundle:
    bundle = Bundle(tuple(block.fit(column, strings)
                          for block, column in zip(blocks, columns, strict=True)), classifier)
    classifier.fit(bundle.matrix(columns, strings), as_array(labels))
    return bundle


def fit_roles(data: Examples) -> Bundle:
    """The sentence-role model: words and bigrams, subwords, context keys."""
    blocks = (Block("text", bigrams=True, min_df=2), Block("text", subwords=True, min_df=3),
              Block("tokens"))
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000)
    return _fit(blocks, data.role_columns, data.roles, classifier, data.strings)


def fit_category(data: Examples) -> Bundle:
    """The category model: opening text, notes and the rules' votes."""
    blocks = (Block("text", bigrams=True, min_df=1), Block("text", min_df=2), Block("tokens"))
    classifier = LogisticRegression(C=10.0, max_iter=5000)
    return _fit(blocks, data.category_columns, data.categories, classifier, data.strings)


def _f1(gold: Sequence[str], predicted: Sequence[str], label: str) -> float:
    hits = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
    guessed, wanted = sum(p == label for p in predicted), sum(g == label for g in gold)
    return 2 * hits / (guessed + wanted) if guessed + wanted else 0.0


def report(roles: Bundle, category: Bundle, dev: Examples) -> dict[str, float]:
    """Segment-level role F1 and ticket-level category accuracy on `dev`, model beside rules."""
    predicted = [str(p) for p in
                 roles.classifier.predict(roles.matrix(dev.role_columns, dev.strings))]
    figures: dict[str, float] = {}
    for label in sorted(set(dev.roles) - {"other"}):
        figures[f"role {label} model"] = _f1(dev.roles, predicted, label)
        figures[f"role {label} rules"] = _f1(dev.roles, dev.rule_roles, label)
    guessed = category.classifier.predict(category.matrix(dev.category_columns, dev.strings))
    rules = dev.rule_categories
    count = max(len(dev.categories), 1)
    figures["category model"] = sum(
        str(g) == c for g, c in zip(guessed, dev.categories, strict=True)) / count
    figures["category rules"] = sum(r == c for r, c in zip(rules, dev.categories,
                                                           strict=True)) / count
    return figures


# OpenBLAS settings every training run should have for the same bits on any machine (see the
# module's docstring): the AVX2 kernels, which every x86-64 CPU since 2013 runs, and one thread.
PINNED_BLAS = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"}


def train(folder: Path = MODELS, data: Path = LABELLED) -> dict[str, float]:
    """Fit both models on train, write them to `folder`, return their dev figures."""
    loaded = load_labelled(data)
    train_set, dev_set = examples(loaded.split("train")), examples(loaded.split("dev"))
    log.info("training on %d role segments, %d tickets", len(train_set.roles),
             len(train_set.categories))
    bundles = {"roles": fit_roles(train_set), "category": fit_category(train_set)}
    folder.mkdir(parents=True, exist_ok=True)
    artefacts = {}
    for name, bundle in bundles.items():
        path = folder / f"{name}.joblib"
        joblib.dump(bundle, path, compress=3)
        artefacts[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size,
                           "classes": [str(c) for c in bundle.classifier.classes_]}
    manifest = {"format_version": FORMAT_VERSION, "sklearn_version": sklearn.__version__,
                "training_data_sha256": data_sha256(data), "split": "train",
                "blas": "pinned: " + ", ".join(f"{key}={value}" for key, value
                                               in sorted(PINNED_BLAS.items()))
                if blas_pinned() else "unpinned",
                "examples": dict(Counter(train_set.roles)), "artefacts": artefacts}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    return report(bundles["roles"], bundles["category"], dev_set)


def can_pin_blas(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this machine can run OpenBLAS's Haswell kernels: Linux on x86-64 with AVX2 and
    FMA (forcing kernels the CPU lacks would crash on an illegal instruction)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        flags = next((line.split(":", 1)[1].split() for line in
                      cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def blas_pinned() -> bool:
    """Whether this process runs with OpenBLAS pinned as `PINNED_BLAS` says (read at start-up:
    OpenBLAS takes its settings when numpy and scipy load it)."""
    return all(os.environ.get(key) == value for key, value in PINNED_BLAS.items())


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: train, write the artefacts, print the dev figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS, help="artefact folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not blas_pinned():
        if argv is None and can_pin_blas():
            # numpy and scipy have loaded OpenBLAS already: only a fresh process takes the pin
            os.execve(sys.executable,  # noqa: S606 - this same command, pinned
                      [sys.executable, "-m", "extract.train", *sys.argv[1:]],
                      os.environ | PINNED_BLAS)
        log.warning("training with OpenBLAS unpinned (%s): the models may differ in their last "
                    "digits from the shipped ones", "called in-process" if argv is not None
                    else "this CPU cannot run the pinned kernels")
    for name, value in train(args.out).items():
        print(f"dev {name:<32} {value:.3f}")


if __name__ == "__main__":
    main()
