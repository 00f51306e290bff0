"""The trained role and category models: shipped artefacts, reproducibility, integrity checks."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sklearn

from extract import Extractor
from extract.assemble import category_inputs
from extract.classifiers import (
    MODELS,
    best,
    category_columns,
    load_bundle,
    predict_categories,
    predict_category,
    predict_roles,
    predict_roles_many,
    read_manifest,
    segment_rows,
)
from extract.labelled import ROLES
from extract.nlp import build_nlp
from extract.train import PINNED_BLAS, can_pin_blas, data_sha256, rule_analysis
from records import AuthorRole, ExtractionError, Note, NoteKind, Ticket

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., Note]


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artefacts `python -m extract.train` writes, built afresh into a temporary folder by
    the command itself: in its own process, which pins OpenBLAS as the shipped ones were."""
    if not can_pin_blas():
        pytest.skip("OpenBLAS cannot be pinned to the kernels the shipped models were trained "
                    "with here (needs Linux on x86-64 with AVX2): retrained weights may differ "
                    "from them in their last digits")
    folder = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, "-m", "extract.train", "--out", str(folder)],  # noqa: S603
                   check=True,
                   capture_output=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    return folder


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A copy of the shipped artefacts that a test may damage."""
    folder = tmp_path / "models"
    shutil.copytree(MODELS, folder)
    return folder


def _roles(ticket: Ticket, folder: Path = MODELS) -> list[tuple[str, str]]:
    """(segment text, the model's likeliest role) for every segment of `ticket`."""
    analysis = rule_analysis(build_nlp(), ticket)
    if folder == MODELS:
        probabilities = predict_roles(analysis.segments)
    else:
        words, metas = segment_rows(analysis.segments)
        probabilities = load_bundle("roles", folder).probabilities([words, words, metas],
                                                                   analysis.strings)
    return [(s.text, best(p)[0]) for s, p in zip(analysis.segments, probabilities, strict=True)]


def _worked_ticket(ticket: TicketMaker, note: NoteMaker) -> Ticket:
    return ticket(title="Outlook keeps crashing on startup",
                  description="Outlook closes as soon as it opens, since this morning.",
                  notes=[note(1, "rebuilt the outlook profile"),
                         note(2, "user confirmed it works now")])


def test_shipped_artefacts_load_and_are_small() -> None:
    manifest = read_manifest(MODELS)
    roles, category = load_bundle("roles"), load_bundle("category")

    assert manifest["sklearn_version"] == sklearn.__version__
    assert manifest["training_data_sha256"] == data_sha256()
    assert sorted(str(c) for c in roles.classifier.classes_) == sorted(ROLES)
    assert len([c for c in category.classifier.classes_ if c != "other"]) >= 12
    assert sum(p.stat().st_size for p in MODELS.iterdir()) < 2_000_000


def test_model_reads_a_step_and_a_check(ticket: TicketMaker, note: NoteMaker) -> None:
    predicted = dict(_roles(_worked_ticket(ticket, note)))

    assert predicted["rebuilt the outlook profile"] == "action"
    assert predicted["user confirmed it works now"] == "verification"


def test_extractor_uses_the_model_for_steps_and_verification(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    resolution = extractor.extract(_worked_ticket(ticket, note))

    assert [step.text for step in resolution.steps] == ["rebuilt the outlook profile"]
    assert resolution.verification is not None
    assert resolution.verification.text == "user confirmed it works now"
    assert resolution.category == "email"
    assert resolution.extractor_version == "0.3.2"


def test_retraining_reproduces_the_shipped_models(
        retrained: Path, ticket: TicketMaker, note: NoteMaker) -> None:
    fixed = ticket(title="Printer offline in accounts",
                   description="I can't print, the queue shows offline.",
                   notes=[note(1, "restarted the spooler and cleared the queue, no luck"),
                          note(2, "Turned out the printer had a new IP from DHCP."),
                          note(3, "set a reservation and re-added the port, test page printed")])
    shipped = load_bundle("roles")
    fresh = load_bundle("roles", retrained)
    analysis = rule_analysis(build_nlp(), fixed)
    words, metas = segment_rows(analysis.segments)
    columns = category_columns([category_inputs(analysis)], [analysis])

    assert fresh.probabilities([words, words, metas], analysis.strings) == \
        shipped.probabilities([words, words, metas], analysis.strings), \
        "artefacts are stale: run extract.train"
    assert load_bundle("category", retrained).probabilities(columns) == \
        load_bundle("category").probabilities(columns), "artefacts are stale: run extract.train"
    assert _roles(fixed, retrained) == _roles(fixed)
    fresh_manifest = json.loads((retrained / "manifest.json").read_text())
    assert fresh_manifest["training_data_sha256"] == read_manifest(MODELS)["training_data_sha256"]
    # byte for byte: the same weights, not only the same decisions on one ticket
    assert fresh_manifest["artefacts"] == read_manifest(MODELS)["artefacts"]
    assert fresh_manifest["blas"] == read_manifest(MODELS)["blas"] != "unpinned"


def test_blas_pin_needs_avx2_on_linux_x86(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx fma\n")
    assert not can_pin_blas(cpuinfo)  # AVX without AVX2: the Haswell kernels would crash
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx avx2 fma\n")
    assert can_pin_blas(cpuinfo) == (sys.platform == "linux"
                                     and platform.machine() in ("x86_64", "AMD64"))
    assert not can_pin_blas(tmp_path / "missing")
    assert PINNED_BLAS == {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"}


def test_tampered_artefact_is_refused(copied: Path) -> None:
    path = copied / "roles.joblib"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")

    with pytest.raises(ExtractionError, match="sha256"):
        load_bundle("roles", copied)
    assert load_bundle("category", copied) is not None  # the untouched one still loads


def test_artefacts_from_another_scikit_learn_are_refused(copied: Path) -> None:
    manifest = json.loads((copied / "manifest.json").read_text())
    manifest["sklearn_version"] = "0.0.1"
    (copied / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ExtractionError, match=r"scikit-learn '0\.0\.1'"):
        load_bundle("roles", copied)


def test_missing_artefacts_say_how_to_rebuild(copied: Path) -> None:
    (copied / "category.joblib").unlink()
    with pytest.raises(ExtractionError, match=r"extract\.train"):
        load_bundle("category", copied)
    (copied / "manifest.json").unlink()
    with pytest.raises(ExtractionError, match=r"extract\.train"):
        load_bundle("roles", copied)


def test_customer_reply_is_not_read_as_a_step(ticket: TicketMaker, note: NoteMaker) -> None:
    reply = note(3, "I restarted my laptop but outlook still crashes",
                 kind=NoteKind.CUSTOMER_REPLY, author_role=AuthorRole.CONTACT)
    predicted = dict(_roles(ticket(title="Outlook crashing", description="Outlook crashes",
                                   notes=[reply])))

    assert predicted["I restarted my laptop but outlook still crashes"] != "action"


def test_a_batch_predicts_what_each_ticket_predicts_alone(
        ticket: TicketMaker, note: NoteMaker) -> None:
    nlp = build_nlp()
    tickets = [_worked_ticket(ticket, note),
               ticket(external_id="T-2", title="VPN drops", description="",
                      notes=[note(1, "reinstaled forticlient, no luck"),
                             note(2, "replaced the dock nic driver, stable since")]),
               ticket(external_id="T-3", title="", description="", notes=[])]
    analyses = [rule_analysis(nlp, t) for t in tickets]
    rows = [category_inputs(a) for a in analyses]

    labels, flat = predict_roles_many([a.segments for a in analyses], nlp.vocab.strings)
    categories = predict_categories(rows, analyses, nlp.vocab.strings)

    assert len(flat) == sum(len(a.segments) for a in analyses) == 8
    batched = [[dict(zip(labels, row, strict=True)) for row in flat[:4].tolist()],
               [dict(zip(labels, row, strict=True)) for row in flat[4:].tolist()], []]
    for analysis, row, roles, category in zip(analyses, rows, batched, categories, strict=True):
        alone = predict_roles(analysis.segments, analysis.strings)
        assert [pytest.approx(p) for p in alone] == roles
        # the docs path and the strings-only path read the same words
        assert predict_category(row) == pytest.approx(category)
        assert predict_categories([row], [None]) == [pytest.approx(category)]


def test_subword_features_carry_a_typo(ticket: TicketMaker, note: NoteMaker) -> None:
    nlp = build_nlp()
    analysis = rule_analysis(nlp, ticket(notes=[note(1, "reinstalled the driver"),
                                                note(2, "reinstaled teh driver")]))
    words, _ = segment_rows(analysis.segments[-2:])
    subwords = load_bundle("roles").blocks[1]

    matrix = subwords.transform(words, analysis.strings).toarray()

    right, typo = matrix[-2], matrix[-1]
    assert (right > 0).sum() > 5 and (typo > 0).sum() > 5
    assert float(right @ typo) > 0.5  # mostly the same letters, whole words differ
