"""The lookup index: does "has anyone fixed this before?" bring back the fixes that worked?"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from records import EvidencedText, Outcome
from store import index as ix
from store import mark_deleted, pending_extraction, save_resolution, session_scope, upsert_ticket
from store.lookup import LookupFilters, Match, SearchIndex, _top
from store.tables import FeedbackRow, ResolutionRow, utcnow
from tests.factories import BASE_TIME, make_note, make_resolution, make_ticket

EVERYTHING = LookupFilters(outcomes=None, usable_only=False)
BLANK: dict[str, Any] = dict(symptoms=[], cause=None, products=[], verification=None)
"""What an entry with its own title does not inherit from the factory's print spooler fix."""


def text(value: str) -> EvidencedText:
    return EvidencedText(text=value)


CORPUS: dict[str, dict[str, Any]] = {
    "outlook-ost": dict(
        title="Outlook send/receive error 0x8004010F",
        problem=text("Outlook shows 0x8004010F: the data file cannot be accessed"),
        symptoms=[text("Send/receive fails with error 0x8004010F")],
        cause=text("Corrupt OST file after the mailbox migration"),
        steps=[text("Closed Outlook"), text("Renamed the OST file"),
               text("Created a new Outlook profile")],
        products=[text("Outlook 2016")], error_codes=[text("0x8004010F")], category="email",
    ),
    "outlook-creds": dict(
        title="Outlook keeps asking for credentials",
        problem=text("Credential prompt pops up in Outlook every few minutes"),
        steps=[text("Cleared cached credentials in Credential Manager"),
               text("Enabled modern authentication")],
        products=[text("Outlook 365")], category="email",
    ),
    "wu-access-denied": dict(
        title="Windows Update fails with 0x80070005",
        problem=text("Cumulative update fails to install: access denied 0x80070005"),
        cause=text("Permissions on SoftwareDistribution folder were wrong"),
        steps=[text("Stopped wuauserv"), text("Renamed SoftwareDistribution folder"),
               text("Ran the update again")],
        error_codes=[text("0x80070005")], kb_refs=[text("KB5034441")], category="patching",
    ),
    "upgrade": dict(
        title="Feature upgrade rolls back",
        problem=text("Windows 11 upgrade fails and rolls back with C1900101-0x20017"),
        steps=[text("Removed the old storage driver"), text("Ran setup again")],
        error_codes=[text("C1900101-0x20017")], category="patching",
    ),
    "printer": dict(category="printing"),  # the factory default: print spooler
    "vpn": dict(
        title="VPN disconnects every few minutes",
        problem=text("FortiClient VPN drops the tunnel"),
        steps=[text("Lowered MTU on the adapter to 1400")],
        products=[text("FortiClient 7.0")], category="network",
    ),
}


def load(engine: sa.Engine, corpus: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Store one ticket and its resolution per entry; returns external id → resolution row id."""
    with session_scope(engine) as session:
        for key, entry in corpus.items():
            upsert_ticket(session, ticket=make_ticket(external_id=key, **_ticket_text(entry)))
        for item in pending_extraction(session, extractor_version="test-1"):
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(ticket=item.ticket,
                                                       **_fields(corpus[item.ticket.external_id])))
        return {external_id: row_id for external_id, row_id in session.exec(
            select(ResolutionRow.external_id, ResolutionRow.id))}


def _ticket_text(entry: dict[str, Any]) -> dict[str, Any]:
    """The ticket's own words for an entry with its own title: its problem, and no notes (the
    factory's notes are about the print spooler). `ticket` in an entry overrides them."""
    own = dict(entry.pop("ticket", {}))
    if "title" in entry:
        problem = entry.get("problem")
        own = {"title": entry["title"], "description": problem.text if problem else "",
               "notes": [], **own}
    return own


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {**BLANK, **entry} if "title" in entry else entry


def ids(matches: list[Match]) -> list[str]:
    return [m.resolution.ticket.external_id for m in matches]


def find(index: SearchIndex, query: str, **kwargs: Any) -> list[str]:
    return ids(index.search(query, **kwargs))


@pytest.fixture
def index(engine: sa.Engine) -> SearchIndex:
    load(engine, {k: dict(v) for k, v in CORPUS.items()})
    return SearchIndex(engine)


def test_error_codes_and_words_rank_the_matching_fix_first(index: SearchIndex) -> None:
    assert find(index, "Outlook error 0x8004010F when sending mail")[0] == "outlook-ost"
    assert find(index, "windows update access denied 0x80070005")[0] == "wu-access-denied"
    assert find(index, "80070005") == ["wu-access-denied"]
    assert find(index, "KB5034441") == ["wu-access-denied"]
    assert find(index, "print jobs stuck in the spooler queue")[0] == "printer"


def test_typos_still_find_the_fix(index: SearchIndex) -> None:
    assert find(index, "outlok credental prompt")[0] == "outlook-creds"
    assert find(index, "vpn disconects evry few minutes")[0] == "vpn"
    assert find(index, "spoolr") == ["printer"]


def test_partial_error_codes_find_the_full_code(index: SearchIndex) -> None:
    assert find(index, "0x8007") == ["wu-access-denied"]
    assert find(index, "C1900101") == ["upgrade"]
    assert find(index, "c1900101-0x20017 during upgrade")[0] == "upgrade"


def test_inflections_meet(index: SearchIndex) -> None:
    assert find(index, "disconnecting vpn")[0] == "vpn"
    assert find(index, "rename softwaredistribution")[0] == "wu-access-denied"


def test_title_weighs_more_than_steps(engine: sa.Engine) -> None:
    load(engine, {
        "in-steps": dict(title="Laptop slow", problem=text("Laptop slow at login"),
                         steps=[text("Reinstalled the dock firmware")]),
        "in-title": dict(title="Dock firmware problem", problem=text("Laptop slow at login"),
                         steps=[text("Replaced the cable")]),
    })
    assert find(SearchIndex(engine), "dock firmware") == ["in-title", "in-steps"]


def test_shared_exact_code_is_boosted_and_confident(engine: sa.Engine) -> None:
    same = dict(title="Mail client error", problem=text("Mail client shows an error on send"),
                steps=[text("Rebuilt the profile")])
    load(engine, {"other-code": {**same, "error_codes": [text("0x800CCC0E")]},
                  "same-code": {**same, "error_codes": [text("0x800CCC0F")]}})
    matches = SearchIndex(engine).search("mail client error 0x800CCC0F")
    assert ids(matches) == ["same-code", "other-code"]
    assert matches[0].confident and "0x800ccc0f" in matches[0].matched
    assert matches[0].score > 1.2 * matches[1].score


def test_product_alias_boost_and_filter(index: SearchIndex) -> None:
    by_product = index.search("send receive", filters=LookupFilters(product="Microsoft Outlook"))
    assert ids(by_product) == ["outlook-ost"]
    # "olk" is an alias of Microsoft Outlook in extract's product lexicon.
    assert set(find(index, "profile", filters=LookupFilters(product="olk"))) <= {
        "outlook-ost", "outlook-creds"}
    assert find(index, "send receive", filters=LookupFilters(product="Nonexistent")) == []


def test_confidence_needs_most_of_the_query(index: SearchIndex) -> None:
    strong = index.search("outlook keeps asking for credentials")[0]
    weak = index.search("outlook crashes when opening calendar attachments from partners")
    assert strong.confident and strong.coverage >= 0.6
    assert weak and not any(m.confident for m in weak)


def test_filters(engine: sa.Engine) -> None:
    spooler = dict(title="Spooler crash", steps=[text("Restarted spooler")])
    load(engine, {
        "acme": {**spooler, "company": "Acme Dental"},
        "globex": {**spooler, "company": "Globex", "category": "hardware"},
        "open": {**spooler, "company": "Acme Dental", "outcome": Outcome.UNKNOWN},
        "thin": {**spooler, "company": "Acme Dental", "steps": []},
        "old": {**spooler, "company": "Acme Dental",
                "closed_at": BASE_TIME - timedelta(days=400)},
    })
    index = SearchIndex(engine)
    assert set(find(index, "spooler crash")) == {"acme", "globex", "old"}
    assert set(find(index, "spooler crash", filters=EVERYTHING)) == {
        "acme", "globex", "open", "thin", "old"}
    assert set(find(index, "spooler crash", filters=LookupFilters(company="Acme Dental"))) == {
        "acme", "old"}
    assert find(index, "spooler crash", filters=LookupFilters(company="Initech")) == []
    assert find(index, "spooler crash", filters=LookupFilters(category="hardware")) == ["globex"]
    assert find(index, "spooler crash", filters=LookupFilters(source="elsewhere")) == []
    assert find(index, "spooler crash", filters=LookupFilters(
        outcomes=("unknown",), usable_only=False)) == ["open"]
    recent = LookupFilters(closed_after=BASE_TIME - timedelta(days=30))
    assert set(find(index, "spooler crash", filters=recent)) == {"acme", "globex"}
    before = LookupFilters(closed_before=BASE_TIME - timedelta(days=30))
    assert find(index, "spooler crash", filters=before) == ["old"]


def test_resolved_outranks_workaround(engine: sa.Engine) -> None:
    same = dict(title="Mapped drive missing", problem=text("S: drive missing after login"),
                steps=[text("Re-ran the logon script")], category="files")
    load(engine, {"workaround": {**same, "outcome": Outcome.WORKAROUND},
                  "resolved": {**same, "outcome": Outcome.RESOLVED}})
    matches = SearchIndex(engine).search("mapped drive missing")
    assert ids(matches) == ["resolved", "workaround"]
    assert matches[0].score > matches[1].score


def test_fix_that_did_not_stick_ranks_below(engine: sa.Engine) -> None:
    same = dict(title="Teams camera black", steps=[text("Reset the Teams cache")])
    load(engine, {"stuck": dict(same), "reopened": dict(same)})
    with session_scope(engine) as session:  # the ticket came back after the fix was recorded
        upsert_ticket(session, ticket=make_ticket(
            external_id="reopened", status="In Progress", closed_at=None,
            updated_at=BASE_TIME + timedelta(days=3), title="Teams camera black again"))
    assert find(SearchIndex(engine), "teams camera black") == ["stuck", "reopened"]


def test_feedback_moves_a_fix_up_or_down(engine: sa.Engine) -> None:
    same = dict(title="Scanner to email fails", steps=[text("Updated the SMTP relay")])
    rows = load(engine, {"a": dict(same), "b": dict(same)})
    index = SearchIndex(engine)
    baseline = find(index, "scanner email")
    assert baseline == ["b", "a"]  # a tie goes to the newer row
    with session_scope(engine) as session:
        session.add_all([FeedbackRow(resolution_id=rows["a"], helpful=True, created_at=utcnow()),
                         FeedbackRow(resolution_id=rows["a"], helpful=True, created_at=utcnow()),
                         FeedbackRow(resolution_id=rows["b"], helpful=False,
                                     created_at=utcnow())])
    assert index.refresh() == 2
    assert find(index, "scanner email") == ["a", "b"]
    assert SearchIndex(engine).search("scanner email")[0].resolution_id == rows["a"]


def test_refresh_sees_added_changed_and_deleted_resolutions(engine: sa.Engine) -> None:
    rows = load(engine, {"printer": {}, "vpn": dict(CORPUS["vpn"])})
    index = SearchIndex(engine)
    assert index.refresh() == 2  # the first refresh builds
    assert index.refresh() == 0
    assert find(index, "fortinet firewall") == []

    load(engine, {"fw": dict(title="FortiGate firewall blocks SIP", category="network",
                             steps=[text("Disabled SIP ALG on the FortiGate")])})
    assert find(index, "sip alg") == []  # not refreshed yet
    assert index.refresh() == 1
    assert find(index, "sip alg") == ["fw"]

    with session_scope(engine) as session:
        row = session.get(ResolutionRow, rows["vpn"])
        assert row is not None
        ticket = make_ticket(external_id="vpn", title="VPN tunnel drops", notes=[],
                             description="The tunnel keeps dropping",
                             updated_at=BASE_TIME + timedelta(days=1))
        upsert_ticket(session, ticket=ticket)
        for item in pending_extraction(session, extractor_version="test-1"):
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(
                                ticket=item.ticket, **BLANK,
                                title="GlobalProtect portal unreachable",
                                steps=[text("Renewed the portal certificate")]))
    assert index.refresh() == 1
    assert find(index, "forticlient mtu") == []
    assert find(index, "globalprotect portal") == ["vpn"]
    assert index.search("globalprotect portal")[0].resolution_id == rows["vpn"]

    with session_scope(engine) as session:
        mark_deleted(session, source="sandbox", kind="ticket", external_ids=["printer"])
    assert index.size == 3  # still indexed until refreshed, but no longer served
    assert find(index, "spooler") == []
    assert index.refresh() == 1
    assert find(index, "spooler") == []
    assert index.size == 2


def test_removed_row_is_dropped_from_results_before_refresh(engine: sa.Engine) -> None:
    load(engine, {"printer": {}})
    index = SearchIndex(engine)
    index.refresh()
    with session_scope(engine) as session:
        session.exec(sa.delete(ResolutionRow))  # type: ignore[call-overload]
    assert index.search("spooler") == []


def test_rebuild_matches_incremental_state(engine: sa.Engine) -> None:
    load(engine, {k: dict(v) for k, v in CORPUS.items() if k != "vpn"})
    index = SearchIndex(engine)
    index.refresh()
    load(engine, {"vpn": dict(CORPUS["vpn"])})
    index.refresh()
    incremental = [(m.resolution_id, m.score) for m in index.search("vpn outlook update", limit=6)]
    assert index.rebuild() == len(CORPUS)
    rebuilt = [(m.resolution_id, m.score) for m in index.search("vpn outlook update", limit=6)]
    assert [i for i, _ in rebuilt] == [i for i, _ in incremental]
    assert [s for _, s in rebuilt] == pytest.approx([s for _, s in incremental], rel=0.2)


def test_delta_merges_into_main(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ix, "DELTA_MERGE_DOCS", 2)
    load(engine, {"printer": {}})
    index = SearchIndex(engine)
    index.refresh()
    for n in range(4):
        load(engine, {f"vpn{n}": dict(CORPUS["vpn"])})
        index.refresh()
    assert sorted(find(index, "forticlient", limit=10)) == ["vpn0", "vpn1", "vpn2", "vpn3"]
    assert find(index, "spooler") == ["printer"]


def test_limit_offset_and_order(index: SearchIndex) -> None:
    everything = index.search("outlook update error vpn spooler", limit=10)
    assert len(everything) >= 4
    assert [m.score for m in everything] == sorted((m.score for m in everything), reverse=True)
    assert ids(index.search("outlook update error vpn spooler", limit=2, offset=1)) == \
        ids(everything)[1:3]
    assert index.search("outlook", limit=0) == []
    with pytest.raises(ValueError):
        index.search("outlook", limit=-1)


@pytest.mark.parametrize("query", ["", "   ", "the and of", "%", "_", "zzzzqqqq"])
def test_blank_or_unmatched_queries_find_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


def test_empty_store(engine: sa.Engine) -> None:
    index = SearchIndex(engine)
    assert index.rebuild() == 0
    assert index.refresh() == 0
    assert index.search("outlook") == []
    load(engine, {"printer": {}})
    assert index.refresh() == 1
    assert find(index, "spooler") == ["printer"]


def test_matches_carry_the_row_id_and_the_stored_resolution(
    engine: sa.Engine, session: Session
) -> None:
    rows = load(engine, {"printer": {}})
    match = SearchIndex(engine).search("spooler queue")[0]
    assert match.resolution_id == rows["printer"]
    stored = session.exec(select(ResolutionRow.payload)
                          .where(col(ResolutionRow.id) == rows["printer"])).one()
    assert match.resolution.model_dump_json() == stored
    assert set(match.matched) == {"spooler", "queue"}



def test_analyzer_stems_inflections_and_leaves_codes_alone() -> None:
    assert [ix.stem(w) for w in ("drives", "renamed", "rename", "mapping", "mapped", "issues",
                                 "access", "policies", "0x80070005", "kb5034441", "vpn")] == [
        "driv", "renam", "renam", "map", "map", "issu", "access", "policy", "0x80070005",
        "kb5034441", "vpn"]
    assert ix.analyze("Printing failed: C1900101-0x20017") == [
        "print", "fail", "c1900101-0x20017", "c1900101", "0x20017", "20017"]


def test_product_aliases_map_to_canonical_names() -> None:
    assert ix.find_products(ix.analyze("new outlook and o365 admin")) == [
        "Microsoft Outlook", "Microsoft 365"]
    assert ix.find_products(ix.analyze("nothing known here")) == []


def test_pruned_scoring_agrees_with_full_scoring(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every doc shares the common words; few share the rare ones.
    common = "printer offline after windows update"
    load(engine, {f"d{n}": dict(title=f"{common} {'spooler crash' if n % 3 == 0 else ''}",
                                problem=text(f"{common} on floor {n}"),
                                steps=[text("Restarted the spooler" if n % 2 else "Reseated")])
                  for n in range(24)})
    index = SearchIndex(engine)
    query = f"{common} spooler crash"
    full = [(m.resolution_id, m.score) for m in index.search(query, limit=8)]
    monkeypatch.setattr(ix, "COMMON_SHARE", 0.5)
    monkeypatch.setattr(ix, "PRUNE_MIN_CANDIDATES", 4)
    pruned = [(m.resolution_id, m.score) for m in index.search(query, limit=8)]
    assert pruned[:4] == full[:4]
    assert all("spooler" in index.search(query, limit=8)[i].matched for i in range(4))


def test_searches_run_while_the_index_refreshes(engine: sa.Engine) -> None:
    load(engine, {"printer": {}})
    index = SearchIndex(engine)
    index.refresh()
    errors: list[BaseException] = []
    seen: list[list[str]] = []

    def searcher() -> None:
        try:
            for _ in range(40):
                seen.append(find(index, "spooler queue"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(5):
        load(engine, {f"new{n}": dict(title=f"Spooler hangs on floor {n}",
                                      steps=[text("Restarted the spooler")])})
        index.refresh()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(result and "printer" in result for result in seen)
    assert len(find(index, "spooler", limit=10)) == 6


def test_refresh_finds_a_row_committed_behind_the_watermark(engine: sa.Engine) -> None:
    load(engine, {"printer": {}})
    index = SearchIndex(engine)
    index.refresh()
    rows = load(engine, {"vpn": dict(CORPUS["vpn"])})
    with session_scope(engine) as session:  # as if its transaction had committed very late
        row = session.get(ResolutionRow, rows["vpn"])
        assert row is not None
        row.updated_at = utcnow() - timedelta(days=1)
        session.add(row)
    assert index.refresh() == 1
    assert find(index, "forticlient") == ["vpn"]


def test_the_tickets_own_wording_finds_its_fix(engine: sa.Engine) -> None:
    """Words only the ticket's description and notes hold (not the extracted summary) find it."""
    corpus = {k: dict(v) for k, v in CORPUS.items()}
    corpus["label"] = dict(
        title="Zebra printer prints blank labels", category="printing",
        steps=[text("Recalibrated the media sensor")],
        ticket=dict(description="The sticker machine at dispatch spits out empty stickers.",
                    notes=[make_note(external_id="label-1",
                                     text="Customer says the parcel tags come out white.")]))
    load(engine, corpus)
    index = SearchIndex(engine)
    assert find(index, "sticker machine spits out empty stickers")[0] == "label"
    assert find(index, "parcel tags come out white")[0] == "label"


def test_html_forum_queries_are_cleaned(index: SearchIndex) -> None:
    """Markup, entities, a quoted reply and a signature do not steer a forum post's query."""
    post = ("Outlook keeps asking for my password\n\n"
            "<p>Hi all,</p><p>Outlook pops up a credential prompt every few minutes &amp; "
            "won&rsquo;t stop.</p>"
            "<blockquote><p>Have you tried the FortiClient VPN MTU? 0x80070005</p></blockquote>"
            "<p>Thanks<br>Sam</p><p>-- <br>Sam Smith | Contoso VPN Team<br>"
            "FortiClient certified</p>")
    matches = index.search(post, filters=EVERYTHING)
    assert ids(matches)[0] == "outlook-creds"
    plain = ("Outlook keeps asking for my password\n\nHi all,\n\nOutlook pops up a credential "
             "prompt every few minutes & won't stop.")
    assert ids(matches) == find(index, plain, filters=EVERYTHING)
    assert "0x80070005" not in {m for match in matches for m in match.matched}
    assert not {"p", "rsquo", "amp", "blockquote"} & set(ix.query_words(post))


def test_query_parts_weigh_the_subject_up_and_boilerplate_down() -> None:
    parts = ix.query_parts("Printer jams\n\n<p>Environment: Dell laptops, Meraki, Veeam.</p>"
                           "<p>The tray two printer jams on every job.</p>")
    assert parts == [("Printer jams", ix.QUERY_TITLE_WEIGHT),
                     ("Environment: Dell laptops, Meraki, Veeam.", ix.QUERY_BOILERPLATE_WEIGHT),
                     ("The tray two printer jams on every job.", 1.0)]
    words = ix.query_words("Printer jams\n\n<p>Environment: Dell laptops, Meraki.</p>"
                           "<p>The tray printer jams.</p>")
    assert words["printer"][1] > words["tray"][1] > words["meraki"][1]
    assert list(words)[:2] == ["printer", "jams"]


def test_products_count_only_when_named_as_written() -> None:
    assert ix.named_products("Teams meeting recording is missing") == ["Microsoft Teams"]
    assert ix.named_products("the people team needs the staff folder") == []
    assert "don" not in ix.query_words("I don't know why it won't print")


def test_top_keeps_the_k_largest_and_every_tie_with_the_kth() -> None:
    rng = np.random.default_rng(7)
    ranked = rng.random(50_000).astype(np.float32)
    expected = set(np.argsort(-ranked, kind="stable")[:10].tolist())
    assert set(_top(ranked, 10).tolist()) == expected
    tied = np.ones(5_000, np.float32)
    tied[[3, 4_000]] = 2.0
    assert len(_top(tied, 3)) == 5_000  # both 2.0s and every 1.0 (tied with the third)
