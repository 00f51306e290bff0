"""The trained sentence-role and ticket-category models: features, artefacts, predictions.

`python -m extract.train` fits both models on the train split of the labelled tickets and writes
them to ``extract/models/`` with a manifest (format version, scikit-learn version, sha256 of the
training data and of each artefact). Loading checks the manifest before unpickling anything and
raises ExtractionError when an artefact is missing, altered, or was built for another format or
another scikit-learn; the models are loaded once per process, on first use.

Features are shared by training and inference so both see the same units: a segment is its text
(word and character n-grams) plus cheap context tokens (who wrote it, where it sits, what the
rules said about it and its neighbours); a ticket is its title and description, its notes, and
the rules' category and product votes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy
import sklearn
from scipy import sparse

from records import ExtractionError

if TYPE_CHECKING:
    from extract.analysis import Segment

__all__ = [
    "FORMAT_VERSION", "MODELS", "Bundle", "category_row", "load_bundle", "predict_category",
    "predict_roles", "segment_rows",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODELS = Path(__file__).resolve().parent / "models"
MANIFEST = "manifest.json"
NAMES = ("roles", "category")


@dataclass(frozen=True)
class Bundle:
    """One fitted model: its vectorisers (one per input column) and its classifier."""

    vectorisers: tuple[Any, ...]
    classifier: Any

    def matrix(self, columns: Sequence[Sequence[str]]) -> Any:
        """The feature matrix of rows given column by column."""
        return sparse.hstack([v.transform(c) for v, c in zip(self.vectorisers, columns,
                                                              strict=True)]).tocsr()

    def probabilities(self, columns: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        """Class probabilities of each row."""
        if not columns[0]:
            return []
        probs = self.classifier.predict_proba(self.matrix(columns))
        labels = [str(label) for label in self.classifier.classes_]
        return [dict(zip(labels, (float(p) for p in row), strict=True)) for row in probs]


def _tokens(prefix: str, values: Any) -> list[str]:
    return [f"{prefix}={value}" for value in sorted(str(v) for v in values)]


def segment_rows(segments: Sequence[Segment]) -> tuple[list[str], list[str]]:
    """Text and context columns for every segment of one ticket, in reading order."""
    texts: list[str] = []
    metas: list[str] = []
    order = {id(source): index for index, source in
             enumerate(dict.fromkeys(s.source for s in segments))}
    last_source = max(order.values(), default=0)
    for index, segment in enumerate(segments):
        source = segment.source
        same = [s for s in segments if s.source is source]
        where = order[id(source)]
        kind = source.kind.value if source.kind else source.field
        meta = [f"ctx={source.context.value}", f"kind={kind}",
                "src=first" if where == 0 else ("src=last" if where == last_source else "src=mid"),
                "seg=first" if same[0] is segment else "seg=later",
                "seg=last" if same[-1] is segment else "seg=notlast",
                f"len={min(len(segment.text.split()) // 4, 5)}",
                f"followup={segment.classification.followup}"]
        meta += _tokens("rule", segment.roles)
        meta += _tokens("prev", segments[index - 1].roles if index else ["none"])
        meta += _tokens("next", segments[index + 1].roles if index + 1 < len(segments)
                        else ["none"])
        texts.append(segment.text)
        metas.append(" ".join(meta))
    return texts, metas


def category_row(title: str, notes: Sequence[str], rule_category: str,
                 product_categories: Sequence[str]) -> tuple[str, str, str]:
    """Title-and-description, notes, and rule-vote columns of one ticket."""
    votes = [f"rule={rule_category}"] + [f"product={p}" for p in product_categories]
    return title, " ".join(notes), " ".join(votes)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the artefacts in `folder`, checked against this code and library."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"model manifest {path.name} is missing or unreadable; "
                              "run `python -m extract.train`") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ExtractionError(f"model artefacts have format {manifest.get('format_version')!r}, "
                              f"this code reads {FORMAT_VERSION}; run `python -m extract.train`")
    if manifest.get("sklearn_version") != sklearn.__version__:
        raise ExtractionError(f"model artefacts were built with scikit-learn "
                              f"{manifest.get('sklearn_version')!r}, this is "
                              f"{sklearn.__version__}; run `python -m extract.train`")
    return manifest


def load_bundle(name: str, folder: Path = MODELS) -> Bundle:
    """One checked artefact from `folder`: ExtractionError if it does not match its manifest."""
    manifest = read_manifest(folder)
    entry = manifest.get("artefacts", {}).get(name)
    path = folder / f"{name}.joblib"
    if not entry or not path.is_file():
        raise ExtractionError(f"model artefact {name!r} is missing; run `python -m extract.train`")
    if sha256_file(path) != entry.get("sha256"):
        # Checked before unpickling: never load bytes the manifest does not vouch for.
        raise ExtractionError(f"model artefact {name!r} does not match its manifest (sha256)")
    bundle = joblib.load(path)
    if not isinstance(bundle, Bundle):
        raise ExtractionError(f"model artefact {name!r} holds {type(bundle).__name__}")
    log.info("loaded %s model (trained on data %s)", name,
             str(manifest.get("training_data_sha256", ""))[:12])
    return bundle


@cache
def _shipped(name: str) -> Bundle:
    return load_bundle(name)


def predict_roles(segments: Sequence[Segment]) -> list[dict[str, float]]:
    """Role probabilities for every segment of one ticket (labels as in `extract.labelled`)."""
    texts, metas = segment_rows(segments)
    return _shipped("roles").probabilities([texts, texts, metas])


def predict_category(row: tuple[str, str, str]) -> dict[str, float]:
    """Category probabilities of one ticket's `category_row`."""
    title, notes, votes = row
    probs = _shipped("category").probabilities([[title], [notes], [votes]])
    return probs[0]


def best(probabilities: dict[str, float]) -> tuple[str, float]:
    """The likeliest label and its probability."""
    label = max(sorted(probabilities), key=lambda key: probabilities[key])
    return label, probabilities[label]


def as_array(values: Sequence[str]) -> numpy.ndarray:
    """Labels as a numpy array (what scikit-learn fits on)."""
    return numpy.asarray(values, dtype=object)
