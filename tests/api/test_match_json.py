"""A lookup match written around the stored payload is the JSON `MatchOut` would write."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from records import Resolution
from store import session_scope
from store.api.schemas import (
    Links,
    LookupResponse,
    MatchOut,
    evidence_items,
    lookup_json,
    match_json,
)
from store.tables import ResolutionRow
from tests.api.conftest import Seeded


def _model_json(resolution_id: int, payload: str) -> dict[str, object]:
    resolution = Resolution.model_validate_json(payload)
    return MatchOut(resolution_id=resolution_id, score=1.25, confident=True,
                    matched=["printer", "spooler"], resolution=resolution,
                    evidence=evidence_items(resolution),
                    links=Links(self=f"/v1/resolutions/{resolution_id}",
                                source=resolution.ticket.url)).model_dump(mode="json")


def _stored(engine: sa.Engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return [(int(row_id or 0), payload) for row_id, payload in
                session.exec(select(ResolutionRow.id, ResolutionRow.payload))]


def test_match_json_equals_the_model_output(engine: sa.Engine, seeded: Seeded) -> None:
    stored = _stored(engine)
    assert len(stored) == len(seeded.ids)
    for row_id, payload in stored:
        company, out = match_json(row_id, payload, score=1.25, confident=True,
                                  matched=["printer", "spooler"])
        assert json.loads(out) == _model_json(row_id, payload)
        assert company == Resolution.model_validate_json(payload).company


def test_a_payload_of_another_shape_is_read_into_the_model(engine: sa.Engine,
                                                           seeded: Seeded) -> None:
    row_id, payload = _stored(engine)[0]
    older = json.loads(payload)
    del older["hosts"]  # as written before the field existed: the model fills in its default
    for evidence in older["title"]["evidence"]:
        del evidence["note_id"]
    _, out = match_json(row_id, json.dumps(older), score=1.25, confident=True,
                        matched=["printer", "spooler"])
    assert json.loads(out) == _model_json(row_id, json.dumps(older))
    assert json.loads(out)["resolution"]["hosts"] == []


def test_lookup_json_is_a_lookup_response(engine: sa.Engine, seeded: Seeded) -> None:
    matches = [match_json(row_id, payload, score=2.0, confident=False, matched=[])[1]
               for row_id, payload in _stored(engine)]
    answer = LookupResponse.model_validate_json(lookup_json(41, matches, 2))
    assert (answer.lookup_id, answer.redacted, len(answer.matches)) == (41, 2, len(matches))
    assert json.loads(lookup_json(7, [], 0)) == {"lookup_id": 7, "matches": [], "redacted": 0}
