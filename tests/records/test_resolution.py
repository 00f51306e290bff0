"""The Resolution contract: applicability and quality score defaults, the quality formula."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from records import (
    Applicability,
    Evidence,
    EvidencedText,
    Outcome,
    QualityFlag,
    Resolution,
    Scope,
    SourceRef,
    quality_score,
)

REF = SourceRef(source="acme-psa", kind="ticket", external_id="T-1")


def _text(text: str, *, evidence: bool = True) -> EvidencedText:
    spans = [Evidence(field="note", note_id="n1", start=0, end=len(text), text=text)]
    return EvidencedText(text=text, evidence=spans if evidence else [])


def _full(**overrides: object) -> Resolution:
    fields: dict[str, object] = {
        "ticket": REF, "title": _text("Spooler hangs"), "problem": _text("Spooler hangs"),
        "cause": _text("corrupt driver"),
        "steps": [_text("removed driver"), _text("reinstalled driver"), _text("restarted spooler")],
        "verification": _text("test page printed"), "outcome": Outcome.RESOLVED,
        "confidence": 0.9, "extractor_version": "t",
    }
    fields.update(overrides)
    return Resolution.model_validate(fields)


def test_a_complete_record_scores_one() -> None:
    assert _full().quality_score == 1.0


def test_json_stored_before_the_new_fields_still_loads_and_gets_a_score() -> None:
    stored = json.loads(_full().model_dump_json())
    del stored["applicability"], stored["quality_score"]

    loaded = Resolution.model_validate_json(json.dumps(stored))

    assert loaded.applicability == Applicability()
    assert loaded.applicability.scope is Scope.UNKNOWN
    assert loaded.quality_score == 1.0


def test_a_given_score_is_kept_and_round_trips() -> None:
    record = _full(quality_score=0.42)
    assert record.quality_score == 0.42
    assert Resolution.model_validate_json(record.model_dump_json()) == record


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_a_score_outside_zero_to_one_is_rejected(score: float) -> None:
    with pytest.raises(ValidationError):
        _full(quality_score=score)


def test_unknown_applicability_keys_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Applicability.model_validate({"scope": "general", "vendor": "x"})
    with pytest.raises(ValidationError):
        Applicability.model_validate({"scope": "everywhere"})


def test_each_missing_part_costs_its_weight() -> None:
    full = dict(problem=True, steps=3, cause=True, verification=True, outcome=Outcome.RESOLVED,
                evidence_coverage=1.0, flags=())
    assert quality_score(**full) == 1.0
    assert quality_score(**{**full, "cause": False}) == 0.85
    assert quality_score(**{**full, "verification": False}) == 0.85
    assert quality_score(**{**full, "steps": 1}) == round(1 - 0.25 * 2 / 3, 2)
    assert quality_score(**{**full, "outcome": Outcome.WORKAROUND}) == 0.96
    assert quality_score(**{**full, "evidence_coverage": 0.0}) == 0.85


def test_flags_cap_and_scale_the_score() -> None:
    full = dict(problem=True, steps=3, cause=True, verification=True, outcome=Outcome.RESOLVED,
                evidence_coverage=1.0)
    assert quality_score(**full, flags=[QualityFlag.NO_RESOLUTION_DETAIL]) == 0.2
    assert quality_score(**full, flags=[QualityFlag.NO_PROBLEM_STATEMENT]) == 0.3
    assert quality_score(**full, flags=[QualityFlag.TICKET_OPEN]) == 0.8
    assert quality_score(**full, flags=[QualityFlag.TICKET_OPEN,
                                        QualityFlag.STEPS_FROM_CUSTOMER]) == 0.64
    # Flags that only restate a missing part cost nothing more than the part.
    assert quality_score(**full, flags=[QualityFlag.NO_CAUSE, QualityFlag.REDACTED]) == 1.0


def test_a_made_up_title_lowers_evidence_coverage() -> None:
    record = _full(title=_text("Ticket T-1", evidence=False))
    assert record.evidence_coverage() == pytest.approx(6 / 7)
    assert record.quality_score == round(0.85 + 0.15 * 6 / 7, 2)


def test_the_schema_explains_the_new_fields() -> None:
    schema = Resolution.model_json_schema()
    props = schema["properties"]
    assert "quality flags" in props["quality_score"]["description"]
    assert "quality_score" in props["confidence"]["description"]
    scope = schema["$defs"]["Applicability"]["properties"]["scope"]
    assert "one_off" in scope["description"]
