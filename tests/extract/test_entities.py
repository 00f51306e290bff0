"""Entities: error codes, KB references, products with versions, and the product lexicon."""

from __future__ import annotations

import pytest

from extract import Extractor
from extract.categories import taxonomy
from extract.entities import ERROR_CODE, KB_REF, PRODUCT, mentions
from extract.lexicon import load_json


def found(extractor: Extractor, text: str, label: str) -> list[str]:
    return [m.value for m in mentions(extractor.nlp(text)) if m.label == label]


@pytest.mark.parametrize(("text", "code"), [
    ("getting error 0x80070005 when installing", "0x80070005"),
    ("update fails with 0x800f0922.", "0x800F0922"),
    ("lots of event id 4625 in the security log", "Event ID 4625"),
    ("Event ID: 41 kernel-power after the outage", "Event ID 41"),
    ("portal shows HTTP 503", "HTTP 503"),
    ("the site returns 502 Bad Gateway", "HTTP 502"),
    ("sign-in fails with AADSTS50126", "AADSTS50126"),
    ("teams error caa70004", "CAA70004"),
    ("bluescreen STOP 0x0000007E on boot", "0x0000007E"),
    ("IRQL_NOT_LESS_OR_EQUAL after the driver update", "IRQL_NOT_LESS_OR_EQUAL"),
    ("NDR says 550 5.7.1 unable to relay", "550 5.7.1"),
    ("msi install ends with error 1603", "Error 1603"),
])
def test_error_codes_are_found_and_normalised(extractor: Extractor, text: str, code: str) -> None:
    assert code in found(extractor, text, ERROR_CODE)


@pytest.mark.parametrize(("text", "ref"), [
    ("installed KB5034441 manually", "KB5034441"),
    ("kb 5034441 keeps failing", "KB5034441"),
    ("see https://support.microsoft.com/kb/5034441?utm_source=x", "KB5034441"),
    ("followed NG-KB-0117 for the vpn", "NG-KB-0117"),
    ("per KB-1234 in our docs", "KB-1234"),
    ("fixed per https://docs.contoso.example/wiki/vpn-98?token=abc#step2",
     "https://docs.contoso.example/wiki/vpn-98"),
])
def test_kb_references_are_found_and_normalised(extractor: Extractor, text: str, ref: str) -> None:
    assert found(extractor, text, KB_REF) == [ref]


def test_kb_links_lose_their_query_string(extractor: Extractor) -> None:
    refs = found(extractor, "https://kb.example.com/article/12?sig=SECRETVALUE", KB_REF)

    assert refs == ["https://kb.example.com/article/12"]


@pytest.mark.parametrize(("text", "product"), [
    ("outlook keeps crashing", "Microsoft Outlook"),
    ("user on o365 can't sign in", "Microsoft 365"),
    ("M365 admin center shows the licence", "Microsoft 365"),
    ("ms teams won't load", "Microsoft Teams"),
    ("reinstalled GlobalProtect 6.2.1 on her laptop", "GlobalProtect 6.2.1"),
    ("FortiClient v7.0.11 fixed the 98% hang", "FortiClient 7.0.11"),
    ("Windows 10 22H2 feature update", "Windows 10 22H2"),
    ("opened it in Edge instead", "Microsoft Edge"),
    ("QB multi-user mode error H202", "QuickBooks"),
    ("the Ricoh copier will not scan", "Ricoh copier"),
])
def test_products_are_found_with_their_versions(extractor: Extractor, text: str,
                                                product: str) -> None:
    assert product in found(extractor, text, PRODUCT)


def test_ambiguous_words_are_products_only_as_written(extractor: Extractor) -> None:
    assert found(extractor, "the cable on the edge of the desk", PRODUCT) == []
    assert found(extractor, "a Word document", PRODUCT) == ["Microsoft Word"]


def test_an_ip_address_is_not_a_version(extractor: Extractor) -> None:
    assert found(extractor, "Windows 10 10.0.0.12 is the gateway", PRODUCT) == ["Windows 10"]


def test_mentions_point_at_their_text(extractor: Extractor) -> None:
    text = "Remoted in; 0x8004010F in Outlook, installed KB5034441."

    for mention in mentions(extractor.nlp(text)):
        assert text[mention.start:mention.end] in {"0x8004010F", "Outlook", "KB5034441"}


def test_product_lexicon_is_sound() -> None:
    products = load_json("products.json")["products"]
    categories = {category.id for category in taxonomy()}
    aliases = [alias.lower() for p in products for alias in p.get("aliases", [])]

    assert len(products) >= 60
    assert len(aliases) == len(set(aliases)), "an alias may name only one product"
    assert {p["category"] for p in products} <= categories
