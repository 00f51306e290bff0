"""The evaluation: labelled tickets load with their spans, and scores mean what they say."""

from __future__ import annotations

import json
from pathlib import Path

from extract.evaluate import baseline, commonest_category, score, text_match
from extract.labelled import load_labelled
from records import Evidence, EvidencedText, Outcome, Resolution, Ticket

TICKET = {
    "source": "labelled", "external_id": "L-1", "title": "outlook keeps asking for pw",
    "description": "", "status": "Closed", "created_at": "2024-05-01T09:00:00Z",
    "updated_at": "2024-05-01T10:00:00Z", "closed_at": "2024-05-01T10:00:00Z",
    "notes": [
        {"external_id": "n1", "kind": "customer_reply", "author": "Dana",
         "author_role": "contact", "created_at": "2024-05-01T09:00:00Z",
         "text": "Outlook asks for my password every 5 minutes."},
        {"external_id": "n2", "kind": "time_entry", "author": "Jae",
         "author_role": "technician", "created_at": "2024-05-01T09:40:00Z",
         "text": "tried signing out of office, no luck. cleared cred mgr, rebuilt ost. "
                 "send/recv ok"},
    ],
}
SENTENCES = [
    {"note": "n1", "text": "Outlook asks for my password every 5 minutes.", "role": "symptom"},
    {"note": "n2", "text": "tried signing out of office, no luck", "role": "failed_attempt"},
    {"note": "n2", "text": "cleared cred mgr", "role": "action"},
    {"note": "n2", "text": "rebuilt ost", "role": "action"},
    {"note": "n2", "text": "send/recv ok", "role": "verification"},
]
FIELDS = {"problem": "Outlook keeps asking for the password", "cause": None,
          "steps": ["cleared cred mgr", "rebuilt ost"],
          "failed_attempts": ["tried signing out of office"], "verification": "send/recv ok",
          "outcome": "resolved", "category": "email", "products": ["Microsoft Outlook"],
          "error_codes": [], "no_resolution_detail": False}


def _write(folder: Path, lines: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "set.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def _line(**overrides: object) -> dict[str, object]:
    return {"id": "L-1", "split": "dev", "ticket": TICKET, "sentences": SENTENCES,
            "fields": FIELDS, **overrides}


def _evidenced(note: str, text: str) -> EvidencedText:
    start = next(n["text"] for n in TICKET["notes"] if n["external_id"] == note).index(text)
    return EvidencedText(text=text, evidence=[Evidence(field="note", note_id=note, start=start,
                                                       end=start + len(text), text=text)])


def _perfect(ticket: Ticket) -> Resolution:
    return Resolution(
        ticket=ticket.ref, title=EvidencedText(text=ticket.title),
        problem=_evidenced("n1", "Outlook asks for my password every 5 minutes."),
        steps=[_evidenced("n2", "cleared cred mgr"), _evidenced("n2", "rebuilt ost")],
        failed_attempts=[_evidenced("n2", "tried signing out of office, no luck")],
        verification=_evidenced("n2", "send/recv ok"), outcome=Outcome.RESOLVED,
        category="email", products=[EvidencedText(text="Microsoft Outlook")], confidence=0.9,
        extractor_version="test")


def test_labels_are_located_as_spans_and_bad_lines_reported(tmp_path: Path) -> None:
    broken = [dict(SENTENCES[0], text="not in the note")]
    _write(tmp_path, [_line(), _line(id="L-2", sentences=broken), {"id": "L-3"}])
    loaded = load_labelled(tmp_path)
    assert [t.id for t in loaded.tickets] == ["L-1", "L-2"]
    span = loaded.tickets[0].spans[2]
    note = loaded.tickets[0].ticket.notes[1].text
    assert note[span.start:span.end] == "cleared cred mgr" and span.role == "action"
    assert any("text not found" in p for p in loaded.problems)
    assert any("set.jsonl:3" in p for p in loaded.problems)


def test_a_perfect_prediction_scores_one_and_the_baseline_less(tmp_path: Path) -> None:
    _write(tmp_path, [_line()])
    tickets = load_labelled(tmp_path).split("dev")
    perfect = score(tickets, _perfect)
    for role in ("symptom", "action", "failed_attempt", "verification"):
        assert perfect.roles[role].f1 == 1.0, role
    for name in ("steps", "failed_attempts", "verification", "products"):
        assert perfect.fields[name].f1 == 1.0, name
    assert perfect.accuracy == {"outcome": 1.0, "category": 1.0}

    base = score(tickets, lambda t: baseline(t, category="other"))
    assert base.fields["failed_attempts"].recall == 0.0
    assert base.roles["action"].recall == 1.0  # the last note's clauses are all taken as steps
    assert base.roles["action"].precision < 1.0  # ... including the failed attempt
    assert base.accuracy["category"] == 0.0


def test_text_match_is_word_overlap() -> None:
    assert text_match("cleared cred mgr", "Cleared the cred mgr entries")
    assert not text_match("rebooted", "cleared cred mgr")
    assert commonest_category([]) == "other"
