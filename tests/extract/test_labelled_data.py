"""The labelled data set: at least 500 tickets, every label located, train/dev/test kept apart."""

from __future__ import annotations

from collections import Counter

from extract.labelled import ROLES, load_labelled


def test_labelled_set_loads_whole_with_three_splits() -> None:
    loaded = load_labelled()
    assert loaded.problems == []
    assert len(loaded.tickets) >= 500
    splits = Counter(ticket.split for ticket in loaded.tickets)
    assert splits["train"] >= 300 and splits["dev"] >= 100 and splits["test"] >= 100
    ids = [ticket.ticket.external_id for ticket in loaded.tickets]
    assert len(ids) == len(set(ids))


def test_every_role_and_outcome_is_represented_in_dev_and_test() -> None:
    loaded = load_labelled()
    for split in ("dev", "test"):
        tickets = loaded.split(split)
        roles = Counter(span.role for t in tickets for span in t.spans)
        assert all(roles[role] >= 10 for role in ROLES), (split, roles)
        outcomes = Counter(t.fields.get("outcome") for t in tickets)
        assert {"resolved", "escalated", "unresolved"} <= set(outcomes), (split, outcomes)
